"""The status lifecycle, driven through the device protocol: forward only, all recorded."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from handles.models import RecipientCapability
from messaging.models import Message
from messaging.services.dispatch import messages_sweep
from tests.conftest import assert_error, send
from tests.messaging.conftest import (
    device_pushes,
    device_reports,
    device_takes_jobs,
    dispatch,
)
from webhooks.models import Event


def receipt(kind, upstream_id, at=None):
    data = {"upstream_id": upstream_id}
    if at is not None:
        data["at"] = at
    return {"id": f"{upstream_id}:{kind}", "type": f"message.{kind}", "data": data}


def history_of(message_id):
    return list(Message.objects.get(pk=message_id).history.values_list("status", "applied"))


def test_a_message_goes_queued_sending_sent_delivered_read(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    assert dispatch(online.handle).dispatched == 1
    (job,) = device_takes_jobs(online)
    assert job["kind"] == "send"
    assert job["payload"]["message_id"] == message["id"]
    assert job["payload"]["to"] == "+14155550199"
    assert job["payload"]["channel"] == "imessage"
    device_reports(online, job, ok=True, upstream_id="up-1")
    device_pushes(online, receipt("delivered", "up-1"))
    device_pushes(online, receipt("read", "up-1"))
    data = alice.client.get(f"/v1/messages/{message['id']}").json()["data"]
    assert data["status"] == "read"
    assert all(data[f"{s}_at"] for s in ("sent", "delivered", "read"))
    assert [h["status"] for h in data["status_history"]] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "read",
    ]
    assert list(
        Event.objects.filter(type__startswith="message.")
        .order_by("created_at")
        .values_list("type", flat=True)
    ) == ["message.queued", "message.sent", "message.delivered", "message.read"]


def test_a_late_delivered_receipt_after_read_does_not_go_back(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=True, upstream_id="up-2")
    device_pushes(online, receipt("read", "up-2"))
    device_pushes(online, receipt("delivered", "up-2"))
    stored = Message.objects.get(pk=message["id"])
    assert stored.status == "read"
    assert stored.delivered_at is not None
    assert history_of(message["id"]) == [
        ("queued", True),
        ("sending", True),
        ("sent", True),
        ("read", True),
        ("delivered", False),
    ]


def test_a_repeated_receipt_changes_nothing(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=True, upstream_id="up-3")
    device_pushes(online, receipt("delivered", "up-3"))
    again = device_pushes(online, receipt("delivered", "up-3"))
    assert again.json()["data"][0]["duplicate"] is True
    assert [s for s, _ in history_of(message["id"])].count("delivered") == 1


def test_not_on_imessage_falls_back_to_sms_and_says_why(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(
        online, job, ok=False, error={"code": "not_registered", "message": "not on iMessage"}
    )
    stored = Message.objects.get(pk=message["id"])
    assert stored.status == "queued"
    assert stored.channel == "sms"
    last = stored.history.order_by("-at", "-id").first()
    assert last is not None
    assert "falling back to SMS" in last.detail
    assert RecipientCapability.objects.get(address="+14155550199").imessage is False
    dispatch(online.handle)
    (sms_job,) = device_takes_jobs(online)
    assert sms_job["payload"]["channel"] == "sms"
    device_reports(online, sms_job, ok=True, upstream_id="up-sms")
    assert Message.objects.get(pk=message["id"]).status == "sent"


def test_without_fallback_not_on_imessage_fails_with_the_devices_code(alice, online):
    message = send(alice, to="+14155550199", text="hi", channel="imessage")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=False, error={"code": "not_registered", "message": "nope"})
    data = alice.client.get(f"/v1/messages/{message['id']}").json()["data"]
    assert data["status"] == "failed"
    assert data["error"] == {"code": "not_registered", "message": "nope"}
    assert data["channel"] == "imessage"
    assert Event.objects.filter(type="message.failed").count() == 1


def test_retry_puts_a_failed_message_back_in_the_queue_with_the_same_id(alice, online):
    message = send(alice, to="+14155550199", text="hi", channel="imessage")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=False, error={"code": "undeliverable", "message": "x"})
    response = alice.client.post(f"/v1/messages/{message['id']}/retry")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == message["id"]
    assert data["status"] == "queued"
    assert data["attempts"] == 2
    assert data["error"] is None
    dispatch(online.handle)
    (second,) = device_takes_jobs(online)
    assert second["payload"]["message_id"] == message["id"]
    assert second["job_id"] != job["job_id"]


def test_retrying_a_message_that_has_not_failed_is_a_conflict(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    assert_error(alice.client.post(f"/v1/messages/{message['id']}/retry"), 409, "conflict")
    assert Message.objects.get(pk=message["id"]).attempts == 1


def test_cancel_stops_a_queued_message_for_good(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    data = alice.client.post(f"/v1/messages/{message['id']}/cancel").json()["data"]
    assert data["status"] == "failed"
    assert data["error"]["code"] == "canceled"
    assert dispatch(online.handle).dispatched == 0
    assert device_takes_jobs(online) == []


def test_cancel_stops_a_scheduled_message(alice, online):
    send_at = (timezone.now() + timedelta(hours=1)).isoformat()
    message = send(alice, to="+14155550199", text="hi", send_at=send_at)
    assert alice.client.post(f"/v1/messages/{message['id']}/cancel").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert messages_sweep().released == 0


def test_cancelling_a_message_already_with_the_device_is_a_conflict(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    assert_error(alice.client.post(f"/v1/messages/{message['id']}/cancel"), 409, "conflict")


def test_an_offline_handle_keeps_its_queue(alice, alice_device):
    message = send(alice, to="+14155550199", text="hi")
    assert dispatch(alice_device.handle).offline is True
    handle = alice.client.get("/v1/handles/+14155550123").json()["data"]
    assert handle["status"] == "offline"
    assert handle["queue_depth"] == 1
    assert Message.objects.get(pk=message["id"]).status == "queued"


def test_a_message_still_queued_after_24_hours_expires(alice, alice_device):
    message = send(alice, to="+14155550199", text="hi")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert messages_sweep().expired == 1
    data = alice.client.get(f"/v1/messages/{message['id']}").json()["data"]
    assert data["status"] == "failed"
    assert data["error"]["code"] == "expired"


def test_a_message_with_the_device_past_24_hours_expires_and_its_job_is_withdrawn(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert messages_sweep().expired == 1
        assert device_takes_jobs(online) == []
    assert Message.objects.get(pk=message["id"]).error_code == "expired"


def test_an_inbound_message_lands_in_a_new_chat_once(alice, online):
    event = {
        "id": "in-1",
        "type": "message.received",
        "data": {"upstream_id": "in-1", "from": "+14155550199", "text": "hello there"},
    }
    device_pushes(online, event)
    device_pushes(online, event)
    (message,) = alice.client.get("/v1/messages", {"direction": "inbound"}).json()["data"]
    assert message["status"] == "received"
    assert message["from_handle"] == "+14155550199"
    assert message["to"] == "+14155550123"
    assert message["text"] == "hello there"
    chat = alice.client.get(f"/v1/chats/{message['chat_id']}").json()["data"]
    assert chat["type"] == "dm"
    assert chat["participants"] == ["+14155550199"]
    assert Event.objects.filter(type="message.received").count() == 1


def test_a_reply_lands_in_the_chat_of_the_conversation(alice, online):
    sent = send(alice, to="+14155550199", text="hi")
    device_pushes(
        online,
        {
            "id": "in-2",
            "type": "message.received",
            "data": {"upstream_id": "in-2", "from": "+14155550199", "text": "hi back"},
        },
    )
    messages = alice.client.get(f"/v1/chats/{sent['chat_id']}/messages").json()["data"]
    assert [m["text"] for m in messages] == ["hi back", "hi"]


def test_an_inbound_group_message_creates_the_group_chat(alice, online):
    device_pushes(
        online,
        {
            "id": "in-3",
            "type": "message.received",
            "data": {
                "upstream_id": "in-3",
                "from": "+14155550101",
                "participants": ["+14155550101", "+14155550102", "+14155550123"],
                "text": "group hello",
            },
        },
    )
    (chat,) = alice.client.get("/v1/chats").json()["data"]
    assert chat["type"] == "group"
    assert chat["participants"] == ["+14155550101", "+14155550102"]


def test_an_inbound_message_with_a_bad_sender_is_refused(alice, online):
    response = device_pushes(
        online,
        {"id": "in-4", "type": "message.received", "data": {"from": "12345", "text": "x"}},
    )
    assert_error(response, 400, "invalid_handle")
    assert Message.objects.count() == 0


def test_a_batch_of_transitions_applies_each_as_one_transition_would(alice, online):
    from django.db import transaction

    from messaging.models import DailyCount
    from messaging.services.lifecycle import Transition, messages_transition

    first = send(alice, to="+14155550199", text="one")
    second = send(alice, to="+14155550198", text="two")
    assert dispatch(online.handle).dispatched == 2
    with transaction.atomic():
        one, two = (
            Message.objects.select_for_update()
            .prefetch_related("attachments", "reactions")
            .get(pk=message["id"])
            for message in (first, second)
        )
        applied = messages_transition(
            transitions=[
                Transition(one, "sent", source="device"),
                Transition(one, "delivered", source="device"),
                Transition(two, "read", source="device"),
                Transition(two, "delivered", source="device"),  # late: recorded, not applied
            ]
        )
    assert applied == [True, True, True, False]
    assert Message.objects.get(pk=first["id"]).status == "delivered"
    assert Message.objects.get(pk=second["id"]).status == "read"
    assert history_of(first["id"])[-2:] == [("sent", True), ("delivered", True)]
    assert history_of(second["id"])[-2:] == [("read", True), ("delivered", False)]
    published = Event.objects.filter(subject__in=[first["id"], second["id"]])
    assert sorted(published.exclude(type="message.queued").values_list("type", "subject")) == [
        ("message.delivered", first["id"]),
        ("message.read", second["id"]),
        ("message.sent", first["id"]),
    ]
    assert published.get(type="message.sent").data["status"] == "sent"
    counted = DailyCount.objects.get(handle=online.handle)
    assert (counted.sent, counted.delivered, counted.read) == (2, 2, 1)
