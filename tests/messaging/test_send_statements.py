"""What one send writes, and in how many statements (the send path of issue 12)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.idempotency import idempotency_lock_key
from accounts.models import IdempotencyRecord
from messaging.models import Message, MessageStatusEvent
from tests.conftest import post_message, send
from webhooks import services as webhook_services
from webhooks.models import Event, WebhookDelivery


def test_a_send_writes_its_message_history_and_event_with_deliveries_in_one_statement(
    alice, alice_device
):
    endpoint = webhook_services.webhook_endpoint_create(
        account=alice.account, url="http://127.0.0.1:9/hook", events=["*"]
    )
    send(alice, to="+14155550199", text="the chat exists after this one")
    with CaptureQueriesContext(connection) as queries:
        data = send(alice, to="+14155550199", text="one statement")
    writes = [q["sql"] for q in queries if 'INSERT INTO "messaging_message"' in q["sql"]]
    assert len(writes) == 1
    assert "messaging_messagestatusevent" in writes[0]
    assert "webhooks_event" in writes[0]
    assert not [q for q in queries if q["sql"].startswith("INSERT INTO webhooks_event")]
    assert list(
        MessageStatusEvent.objects.filter(message_id=data["id"]).values_list("status", flat=True)
    ) == ["queued"]
    event = Event.objects.get(subject=data["id"], type="message.queued")
    assert event.data == data
    assert WebhookDelivery.objects.filter(event=event, endpoint_id=endpoint.pk).count() == 1


def test_with_an_idempotency_key_the_send_and_its_stored_response_are_one_statement(
    alice, alice_device, django_capture_on_commit_callbacks
):
    endpoint = webhook_services.webhook_endpoint_create(
        account=alice.account, url="http://127.0.0.1:9/hook", events=["message.queued"]
    )
    send(alice, to="+14155550199", text="the chat exists after this one")
    cache.delete(f"whk-wake:{endpoint.pk}")
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_message(
            alice, idempotency_key="one-write", to="+14155550199", text="one write"
        )
    data = response.json()["data"]
    writes = [q["sql"] for q in queries if "INSERT" in q["sql"] or "UPDATE" in q["sql"]]
    assert response.status_code == 202
    assert len(writes) == 1
    assert 'INSERT INTO "accounts_idempotencyrecord"' in writes[0]
    assert 'INSERT INTO "messaging_message"' in writes[0]
    assert IdempotencyRecord.objects.filter(key="one-write").count() == 1
    event = Event.objects.get(subject=data["id"], type="message.queued")
    assert WebhookDelivery.objects.filter(event=event, endpoint_id=endpoint.pk).count() == 1
    # The endpoint learned of its delivery once the transaction committed.
    assert cache.has_key(f"whk-wake:{endpoint.pk}")


def test_a_late_repeat_of_a_send_writes_nothing_and_replays(alice, alice_device):
    first = post_message(alice, idempotency_key="late", to="+14155550199", text="once")
    cache.delete(idempotency_lock_key(account_id=alice.account.pk, key="late"))
    repeat = post_message(alice, idempotency_key="late", to="+14155550199", text="once")
    assert repeat["Idempotent-Replayed"] == "true"
    assert repeat.content == first.content
    assert Message.objects.filter(text="once").count() == 1
    sent_id = first.json()["data"]["id"]
    assert Event.objects.filter(type="message.queued", subject=sent_id).count() == 1
