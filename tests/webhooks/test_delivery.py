"""Events reach a real HTTP receiver, signed, retried, logged; no endpoint delays another."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks import Webhook

from tests.messaging.conftest import wait_until
from webhooks import services
from webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(platform, url, events=("*",)):
    response = platform.client.post(
        "/v1/webhooks", {"url": url, "events": list(events)}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]


def verified(secret, received):
    """The payload, if the Standard Webhooks library accepts its signature."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    return Webhook(secret).verify(received.body, headers)


def test_a_sent_message_reaches_the_receiver_as_signed_events(platform, receiver):
    endpoint = subscribe(platform, receiver.url)
    platform.handle("+14155550123")
    message = platform.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "hi"}, format="json"
    ).json()["data"]
    wanted = ["message.queued", "message.sent", "message.delivered", "message.read"]

    def all_arrived() -> bool:
        return all(receiver.bodies_of_type(t) for t in wanted)

    wait_until(all_arrived, what="the four events")
    for event_type in wanted:
        (received,) = receiver.bodies_of_type(event_type)
        payload = verified(endpoint["secret"], received)
        assert payload["type"] == event_type
        assert payload["data"]["id"] == message["id"]
        assert payload["id"].startswith("evt_")
        assert received.headers["webhook-id"] == payload["id"]


def test_a_failing_receiver_gets_the_same_event_until_it_accepts_it(platform, receiver):
    receiver.statuses = [500, 500]
    endpoint = subscribe(platform, receiver.url)
    platform.client.post(f"/v1/webhooks/{endpoint['id']}/test")
    wait_until(lambda: len(receiver.received) == 1, what="the first attempt")
    delivery = WebhookDelivery.objects.get()
    wait_until(lambda: DeliveryAttempt.objects.filter(delivery=delivery).count() == 1, what="log")
    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        services.deliveries_sweep()
        wait_until(lambda: len(receiver.received) == 2, what="the retry after 5 s")
    wait_until(lambda: DeliveryAttempt.objects.filter(delivery=delivery).count() == 2, what="log")
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=10)):
        services.deliveries_sweep()
        wait_until(lambda: len(receiver.received) == 3, what="the retry after 5 min")
    wait_until(
        lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="succeeded").exists(),
        what="success",
    )
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    log = platform.client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["data"]
    assert [a["status_code"] for a in log[0]["attempt_log"]] == [500, 500, 200]
    assert log[0]["status"] == "succeeded"
    assert all(a["duration_ms"] >= 0 for a in log[0]["attempt_log"])


def test_redelivery_sends_the_same_event_again(platform, receiver):
    endpoint = subscribe(platform, receiver.url)
    delivery = platform.client.post(f"/v1/webhooks/{endpoint['id']}/test").json()["data"]
    wait_until(
        lambda: WebhookDelivery.objects.filter(pk=delivery["id"], status="succeeded").exists(),
        what="the test event",
    )
    response = platform.client.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver")
    assert response.status_code == 202
    wait_until(lambda: len(receiver.received) == 2, what="the redelivery")
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert json.loads(first.body) == json.loads(second.body)


def test_410_disables_the_endpoint(platform, receiver):
    receiver.statuses = [410]
    endpoint = subscribe(platform, receiver.url)
    platform.client.post(f"/v1/webhooks/{endpoint['id']}/test")
    wait_until(
        lambda: WebhookEndpoint.objects.filter(pk=endpoint["id"], enabled=False).exists(),
        what="disabling",
    )
    data = platform.client.get(f"/v1/webhooks/{endpoint['id']}").json()["data"]
    assert "410" in data["disabled_reason"]
    assert WebhookDelivery.objects.get().status == "failed"


def test_an_endpoint_failing_for_five_days_is_disabled_with_a_reason(platform, receiver):
    receiver.statuses = [500]
    endpoint = subscribe(platform, receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(
        failing_since=timezone.now() - timedelta(days=5, minutes=1)
    )
    platform.client.post(f"/v1/webhooks/{endpoint['id']}/test")
    wait_until(
        lambda: WebhookEndpoint.objects.filter(pk=endpoint["id"], enabled=False).exists(),
        what="disabling",
    )
    assert "5 days" in WebhookEndpoint.objects.get(pk=endpoint["id"]).disabled_reason


def test_a_slow_receiver_does_not_delay_another_endpoint(platform, receiver_factory):
    slow = receiver_factory(delay=30)
    fast = receiver_factory()
    subscribe(platform, slow.url)
    subscribe(platform, fast.url)
    from webhooks.services import event_publish

    started = time.monotonic()
    event_publish(account=platform.account, type="handle.online", data={"handle": "+1"})
    wait_until(lambda: len(fast.received) == 1, what="the fast endpoint")
    assert fast.received[0].at - started < 1.0
    # The slow endpoint was being delivered to meanwhile (its answer is what is slow); on a
    # loaded machine its request may reach it a moment after the fast one's.
    wait_until(lambda: len(slow.received) == 1, timeout=5, what="the slow endpoint's request")


def test_a_burst_beyond_the_endpoint_cap_is_delivered_without_waiting_for_the_sweep(
    platform, receiver, settings
):
    # No beat runs here: what the cap turned away must be picked up as slots free.
    receiver.delay = 0.5  # the first attempts hold the endpoint's slots while the rest arrive
    subscribe(platform, receiver.url)
    burst = 3 * settings.SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY
    from webhooks.services import event_publish

    for n in range(burst):
        event_publish(account=platform.account, type="handle.online", data={"n": n})
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="succeeded").count() == burst,
        what="every delivery of the burst",
    )
    assert len({r.headers["webhook-id"] for r in receiver.received}) == burst


def test_during_a_rotation_both_secrets_verify(platform, receiver):
    endpoint = subscribe(platform, receiver.url)
    new_secret = platform.client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret").json()[
        "data"
    ]["secret"]
    platform.client.post(f"/v1/webhooks/{endpoint['id']}/test")
    wait_until(lambda: len(receiver.received) == 1, what="the test event")
    (received,) = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert verified(endpoint["secret"], received)["type"] == "webhook.test"
    assert verified(new_secret, received)["type"] == "webhook.test"


def test_a_private_address_is_refused_again_at_delivery(platform, receiver, settings):
    endpoint = subscribe(platform, receiver.url)
    settings.SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS = False
    platform.client.post(f"/v1/webhooks/{endpoint['id']}/test")
    wait_until(lambda: DeliveryAttempt.objects.exists(), what="the attempt")
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None
    assert "InvalidIPAddress" in attempt.error
    assert receiver.received == []
