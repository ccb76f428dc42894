"""A device's clock is held to a window around the server's: a time outside it is replaced
by the time of receipt, and the device's own value stays in the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from handles.clock import AHEAD, BEHIND
from handles.models import DeviceEvent
from messaging.models import Message
from messaging.services.sending import message_send
from tests.conftest import assert_error
from tests.messaging.conftest import device_reports, device_takes_jobs, dispatch

FAR_FUTURE = "9999-12-31T23:59:59Z"


def received(device_of: Any, event_id: str, at: str | None, text: str = "hi") -> Any:
    data: dict[str, Any] = {"from": "+14155550199", "text": text, "upstream_id": event_id}
    if at is not None:
        data["at"] = at
    return device_of.client.post(
        "/device/v1/events",
        {"events": [{"id": event_id, "type": "message.received", "data": data}]},
        format="json",
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_message_dated_in_the_far_future_is_recorded_at_its_receipt(alice, alice_device):
    before = timezone.now()
    assert received(alice_device, "far", FAR_FUTURE).status_code == 200
    message = Message.objects.get(upstream_id="far")
    assert before <= message.created_at <= timezone.now()
    assert message.chat.last_message_at == message.created_at


def test_a_message_dated_in_the_far_future_does_not_stay_on_top_of_the_list(alice, alice_device):
    received(alice_device, "far", FAR_FUTURE)
    received(alice_device, "later", None)
    listed = alice.client.get("/v1/messages").json()["data"]
    assert [m["text"] for m in listed][:2] == ["hi", "hi"]
    assert listed[0]["id"] == Message.objects.get(upstream_id="later").pk


def test_the_devices_own_time_is_kept_in_the_history(alice, alice_device):
    received(alice_device, "far", FAR_FUTURE)
    message = Message.objects.get(upstream_id="far")
    detail = alice.client.get(f"/v1/messages/{message.pk}").json()["data"]
    (received_step,) = detail["status_history"]
    assert FAR_FUTURE in received_step["detail"]
    assert DeviceEvent.objects.get(external_id="far").data["at"] == FAR_FUTURE


def test_a_time_within_the_window_is_used_as_the_device_gave_it(alice, alice_device):
    moment = (timezone.now() - BEHIND + timedelta(hours=1)).replace(microsecond=0)
    received(alice_device, "late", iso(moment))
    message = Message.objects.get(upstream_id="late")
    assert message.created_at == moment
    assert message.history.get().detail == ""


@pytest.mark.parametrize(
    "offset", [AHEAD + timedelta(minutes=1), -(BEHIND + timedelta(hours=1))], ids=["ahead", "old"]
)
def test_a_time_just_outside_the_window_is_replaced(alice, alice_device, offset):
    before = timezone.now()
    received(alice_device, "odd", iso(before + offset))
    message = Message.objects.get(upstream_id="odd")
    assert before <= message.created_at <= timezone.now()


def test_a_receipt_dated_in_the_far_future_is_recorded_at_its_receipt(alice, alice_device):
    online = alice_device
    assert online.client.post("/device/v1/heartbeat", {}, format="json").status_code == 200
    message = message_send(account=alice.account, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=True, upstream_id="up-1")
    before = timezone.now()
    response = online.client.post(
        "/device/v1/events",
        {
            "events": [
                {
                    "id": "d1",
                    "type": "message.delivered",
                    "data": {"upstream_id": "up-1", "at": FAR_FUTURE},
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.delivered_at is not None
    assert before <= message.delivered_at <= timezone.now()
    assert FAR_FUTURE in message.history.get(status="delivered").detail


@pytest.mark.parametrize("at", ["2026-13-01T00:00:00Z", "2026-01-01T00:00:00+25:00", "soon", 5])
def test_an_impossible_time_is_invalid_request_naming_data_at(alice_device, at):
    response = received(alice_device, "bad", at)
    assert list(assert_error(response, 400, "invalid_request")["fields"]) == ["data.at"]
    assert not Message.objects.exists()
