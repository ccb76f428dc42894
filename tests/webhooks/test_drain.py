"""A drain delivers an endpoint's due deliveries in batches over one keep-alive connection."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts import services as account_services
from tests.webhooks.test_publish import queued_webhook_tasks
from webhooks import services
from webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoint_of(receiver_factory):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()

    def make(**behaviour):
        receiver = receiver_factory(**behaviour)
        account, _ = account_services.account_create(name="Drained")
        endpoint = services.webhook_endpoint_create(account=account, url=receiver.url, events=["*"])
        return account, endpoint, receiver

    return make


def publish(account, count):
    services.event_publish_many(
        events=[
            {"account": account, "type": "handle.online", "data": {"n": n}} for n in range(count)
        ]
    )


def test_a_burst_is_delivered_in_batches_over_one_kept_alive_connection(endpoint_of, monkeypatch):
    monkeypatch.setattr(services.delivering, "DRAIN_BATCH", 7)
    account, endpoint, receiver = endpoint_of(keep_alive=True)
    publish(account, 30)
    assert services.endpoint_drain(endpoint_id=endpoint.pk) == 30
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 30
    assert len({r.client_port for r in receiver.received}) == 1
    assert WebhookDelivery.objects.filter(status="succeeded", attempts=1).count() == 30
    assert DeliveryAttempt.objects.filter(succeeded=True, status_code=200).count() == 30


def test_a_drain_finding_every_slot_taken_makes_no_attempt_and_leaves_the_work_due(endpoint_of):
    account, endpoint, receiver = endpoint_of()
    publish(account, 3)
    with (
        services.endpoint_slot(endpoint.pk) as first,
        services.endpoint_slot(endpoint.pk) as second,
    ):
        assert first
        assert second
        assert services.endpoint_drain(endpoint_id=endpoint.pk) == 0
    assert receiver.received == []
    assert (
        WebhookDelivery.objects.filter(
            status="pending", next_attempt_at__lte=timezone.now()
        ).count()
        == 3
    )


def test_a_drain_out_of_time_queues_its_endpoint_again(endpoint_of, monkeypatch):
    account, endpoint, _receiver = endpoint_of()
    publish(account, 3)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # the publish's own wake-up
    monkeypatch.setattr(services.delivering, "DRAIN_SECONDS", 0.0)
    services.endpoint_drain(endpoint_id=endpoint.pk)
    assert queued_webhook_tasks() == 1
    assert WebhookDelivery.objects.filter(status="pending").count() == 3


def test_a_failing_batch_schedules_each_retry_and_marks_the_endpoint_failing(endpoint_of):
    account, endpoint, _receiver = endpoint_of(statuses=[500, 503])
    publish(account, 2)
    before = timezone.now()
    assert services.endpoint_drain(endpoint_id=endpoint.pk) == 2
    for delivery in WebhookDelivery.objects.all():
        assert delivery.status == "pending"
        assert delivery.attempts == 1
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at - before >= timedelta(seconds=5)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is not None


def test_a_410_in_a_batch_disables_the_endpoint_and_fails_the_rest(endpoint_of):
    account, endpoint, receiver = endpoint_of(statuses=[410])
    publish(account, 4)
    services.endpoint_drain(endpoint_id=endpoint.pk)
    assert len(receiver.received) == 1
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).enabled
    assert WebhookDelivery.objects.filter(status="failed").count() == 4


def test_the_orm_path_for_sqlite_publishes_and_drains_the_same(endpoint_of, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "sqlite")  # the embedded mode's database
    account, endpoint, receiver = endpoint_of()
    publish(account, 3)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3
    assert services.endpoint_drain(endpoint_id=endpoint.pk) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3
