"""POST /v1/messages: 202, what is stored, how the sender, channel and chat are chosen."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from handles import services as handle_services
from messaging.models import Chat, Message
from messaging.services.dispatch import messages_sweep
from tests.conftest import attach_device, post_message
from webhooks.models import Event


def test_a_send_is_accepted_with_202_and_stored_queued(alice, online):
    response = post_message(alice, to="+14155550199", text="hello", metadata={"order": "42"})
    assert response.status_code == 202
    data = response.json()["data"]
    assert data["id"].startswith("msg_")
    assert data["status"] == "queued"
    assert data["direction"] == "outbound"
    assert data["from_handle"] == "+14155550123"
    assert data["to"] == "+14155550199"
    assert data["channel"] == "imessage"
    assert data["metadata"] == {"order": "42"}
    assert data["attempts"] == 1
    assert data["error"] is None
    assert data["reactions"] == []
    message = Message.objects.get(pk=data["id"])
    assert message.status == "queued"
    assert list(message.history.values_list("status", flat=True)) == ["queued"]
    event = Event.objects.get(type="message.queued")
    assert event.data["id"] == data["id"]
    assert event.data["metadata"] == {"order": "42"}


def test_the_sender_is_sticky_per_recipient(alice, online):
    first = post_message(alice, to="+14155550199", text="1").json()["data"]
    attach_device(alice.account, "+14155550144")
    second = post_message(alice, to="+14155550199", text="2").json()["data"]
    assert second["from_handle"] == first["from_handle"] == "+14155550123"
    assert second["chat_id"] == first["chat_id"]


def test_without_history_the_online_handle_with_the_shortest_queue_sends(alice, online):
    quiet = attach_device(alice.account, "+14155550144")
    quiet.client.post("/device/v1/heartbeat", {}, format="json")
    post_message(alice, to="+14155550101", text="busy", from_handle="+14155550123")
    chosen = post_message(alice, to="+14155550102", text="who sends?").json()["data"]
    assert chosen["from_handle"] == "+14155550144"


def test_an_online_handle_is_preferred_over_an_offline_one(alice, online):
    attach_device(alice.account, "+14155550144")  # never called: offline
    post_message(alice, to="+14155550101", text="1", from_handle="+14155550123")
    chosen = post_message(alice, to="+14155550102", text="2").json()["data"]
    assert chosen["from_handle"] == "+14155550123"


def test_auto_goes_straight_to_sms_for_a_recipient_known_not_on_imessage(alice, online):
    handle_services.capability_set(
        account_id=alice.account.id, address="+14155550199", imessage=False
    )
    data = post_message(alice, to="+14155550199", text="hi").json()["data"]
    assert data["channel"] == "sms"


def test_a_group_send_finds_the_same_group_chat_whatever_the_order(alice, online):
    first = post_message(alice, to=["+14155550101", "+14155550102"], text="hi all").json()["data"]
    second = post_message(alice, to=["+14155550102", "+14155550101"], text="again").json()["data"]
    assert first["chat_id"] == second["chat_id"]
    chat = Chat.objects.get(pk=first["chat_id"])
    assert chat.type == "group"
    assert chat.participants == ["+14155550101", "+14155550102"]
    assert first["to"] == ["+14155550101", "+14155550102"]


def test_sending_into_a_chat_uses_its_handle(alice, online):
    chat_id = post_message(alice, to="+14155550199", text="1").json()["data"]["chat_id"]
    attach_device(alice.account, "+14155550144")
    data = post_message(alice, chat_id=chat_id, text="2").json()["data"]
    assert data["chat_id"] == chat_id
    assert data["from_handle"] == "+14155550123"
    assert data["to"] == "+14155550199"


def test_a_scheduled_message_waits_until_send_at(alice, online):
    send_at = timezone.now() + timedelta(hours=1)
    data = post_message(alice, to="+14155550199", text="later", send_at=send_at.isoformat()).json()[
        "data"
    ]
    assert data["status"] == "scheduled"
    assert not Event.objects.filter(type="message.queued").exists()
    assert messages_sweep().released == 0
    with time_machine.travel(send_at + timedelta(seconds=1)):
        assert messages_sweep().released == 1
    message = Message.objects.get(pk=data["id"])
    assert message.status == "queued"
    assert list(message.history.values_list("status", flat=True)) == ["scheduled", "queued"]
    assert Event.objects.filter(type="message.queued").count() == 1


def test_the_same_idempotency_key_five_times_makes_one_message(alice, online):
    responses = [
        alice.client.post(
            "/v1/messages",
            {"to": "+14155550199", "text": "once"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="send-once",
        )
        for _ in range(5)
    ]
    assert {r.json()["data"]["id"] for r in responses} == {responses[0].json()["data"]["id"]}
    assert Message.objects.count() == 1
    assert [r.get("Idempotent-Replayed") for r in responses] == [None] + ["true"] * 4
