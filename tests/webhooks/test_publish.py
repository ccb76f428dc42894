"""Publishing is cheap and fans out at once; a backlog never multiplies its tasks."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from webhooks import services
from webhooks.models import Event, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def queued_webhook_tasks() -> int:
    """Messages waiting in the broker's `webhooks` queue."""
    with current_app.connection_for_read() as conn:
        channel: Any = conn.default_channel
        try:
            return int(channel.queue_declare(queue="webhooks", passive=True).message_count)
        except Exception:  # an empty queue does not exist in Redis
            return 0


@pytest.fixture
def empty_broker() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def account(name: str) -> Any:
    made, _ = account_services.account_create(name=name)
    return made


def test_an_account_without_endpoints_pays_one_statement_and_no_task(empty_broker):
    quiet = account("Quiet")
    with CaptureQueriesContext(connection) as queries:
        event = services.event_publish(account=quiet, type="handle.online", data={"n": 1})
    assert len(queries) == 1
    assert Event.objects.get(pk=event.pk).data == {"n": 1}
    assert not WebhookDelivery.objects.exists()
    assert queued_webhook_tasks() == 0


def test_each_event_gets_one_delivery_per_enabled_endpoint_that_wants_its_type(
    receiver, empty_broker
):
    loud, quiet = account("Loud"), account("Quiet")
    everything = services.webhook_endpoint_create(account=loud, url=receiver.url, events=["*"])
    offline = services.webhook_endpoint_create(
        account=loud, url=receiver.url, events=["handle.offline"]
    )
    services.webhook_endpoint_create(account=loud, url=receiver.url, events=["*"], enabled=False)
    events = services.event_publish_many(
        events=[
            {"account": loud, "type": "handle.online", "data": {"n": 1}},
            {"account": quiet.pk, "type": "handle.offline", "data": {"n": 2}, "subject": "s"},
            {"account": loud.pk, "type": "handle.offline", "data": {"n": 3}},
        ]
    )
    assert [e.data["n"] for e in events] == [1, 2, 3]
    assert Event.objects.get(pk=events[1].pk).subject == "s"
    pairs = set(WebhookDelivery.objects.values_list("event_id", "endpoint_id"))
    assert pairs == {
        (events[0].pk, everything.pk),
        (events[2].pk, everything.pk),
        (events[2].pk, offline.pk),
    }
    assert queued_webhook_tasks() == 2  # one drain per endpoint, not one task per delivery


def test_an_endpoint_receives_only_events_created_after_it_exists(receiver, empty_broker):
    owner = account("Late")
    before = services.event_publish(account=owner, type="handle.online", data={})
    endpoint = services.webhook_endpoint_create(account=owner, url=receiver.url, events=["*"])
    after = services.event_publish(account=owner, type="handle.online", data={})
    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == [after.pk]
    assert services.deliveries_sweep() == 0  # the sweep makes nothing of the earlier one
    assert not WebhookDelivery.objects.filter(event_id=before.pk).exists()
    assert WebhookDelivery.objects.get().endpoint_id == endpoint.pk


def test_a_rolled_back_publish_leaves_no_event_delivery_or_task(receiver, empty_broker):
    owner = account("Undo")
    services.webhook_endpoint_create(account=owner, url=receiver.url, events=["*"])

    def publish_then_fail() -> None:
        with transaction.atomic():
            services.event_publish(account=owner, type="handle.online", data={})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert not Event.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert queued_webhook_tasks() == 0


def test_a_backlog_of_ten_thousand_events_queues_one_task_per_endpoint(receiver, empty_broker):
    busy, other, quiet = account("Busy"), account("Other"), account("Quiet")
    for owner in (busy, busy, other):
        services.webhook_endpoint_create(account=owner, url=receiver.url, events=["*"])
    published = 0
    while published < 9_900:  # in batches, as the dispatcher and receipts publish
        with transaction.atomic():
            services.event_publish_many(
                events=[
                    {"account": (busy, other, quiet)[n % 3], "type": "message.sent", "data": {}}
                    for n in range(published, published + 450)
                ]
            )
        published += 450
    for n in range(100):  # and one by one, as the send path does
        services.event_publish(account=(busy, other)[n % 2], type="handle.online", data={})
    assert Event.objects.count() == 10_000
    assert queued_webhook_tasks() == 3
    for _ in range(3):  # beat's sweeps over the backlog, no worker consuming
        services.deliveries_sweep()
    assert queued_webhook_tasks() == 3
    # A drain task lost with its broker message: once its marker expires, the sweep queues
    # one again for that endpoint only.
    endpoint_id = WebhookDelivery.objects.values_list("endpoint_id", flat=True).first()
    cache.delete(f"whk-wake:{endpoint_id}")
    assert services.deliveries_sweep() == 1
    assert queued_webhook_tasks() == 4
