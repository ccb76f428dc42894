"""What one send writes, and in how many statements (the send path of issue 12)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import MessageStatusEvent
from tests.conftest import send
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
