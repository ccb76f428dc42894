"""Pausing a handle from admin on the real pipeline (live server, Celery worker, simulated
devices): its device gets nothing while other handles send; resume drains it FIFO at its pace."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEntry
from handles.models import Handle
from messaging.models import Message, MessageStatusEvent
from messaging.services.dispatch import handle_dispatch
from tests.messaging.conftest import wait_until
from tests.operator_support import operator_client, run_action

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=60)]

HANDLES = "/admin/handles/handle/"


def send_from(platform: Any, handle: str, count: int, tag: str) -> list[str]:
    ids = []
    for n in range(count):
        response = platform.client.post(
            "/v1/messages",
            {"to": f"+1415555{2000 + n}", "text": f"{tag}{n}", "from_handle": handle},
            format="json",
        )
        assert response.status_code == 202, response.content
        ids.append(response.json()["data"]["id"])
    return ids


def sends_received(device: Any) -> list[str]:
    return [job.payload["message_id"] for job in list(device.received) if job.kind == "send"]


def test_a_paused_handle_gets_nothing_while_another_handles_messages_go_out(platform):
    held_handle, held_device = platform.handle("+14155550123")
    _, other_device = platform.handle("+14155550144")
    operator = operator_client()
    assert run_action(operator, HANDLES, "pause", [held_handle.pk]).status_code == 302

    held = send_from(platform, "+14155550123", 5, "held")
    going = send_from(platform, "+14155550144", 3, "going")

    def others_sent() -> bool:
        return (
            Message.objects.filter(pk__in=going, status__in=["sent", "delivered", "read"]).count()
            == 3
        )

    wait_until(others_sent, timeout=30, what="the other handle's messages")
    # The paused handle's own run, had it been woken, hands over nothing either.
    assert handle_dispatch(handle_id=held_handle.pk).dispatched == 0
    assert sorted(sends_received(other_device)) == sorted(going)
    assert sends_received(held_device) == []
    assert set(Message.objects.filter(pk__in=held).values_list("status", flat=True)) == {"queued"}
    assert list(AuditEntry.objects.values_list("operator_name", "action", "object_id")) == [
        ("operator", "handle.pause", str(held_handle.pk))
    ]


def test_resume_drains_the_queue_fifo_at_the_handles_pace(platform):
    per_minute, burst, count = 30, 1, 5  # one now, then one every 2 s
    handle, device = platform.handle("+14155550123", per_minute=per_minute, burst=burst)
    operator = operator_client()
    run_action(operator, HANDLES, "pause", [handle.pk])
    held = send_from(platform, "+14155550123", count, "#")
    assert Handle.objects.get(pk=handle.pk).paused is True

    run_action(operator, HANDLES, "resume", [handle.pk])

    def all_sent() -> bool:
        return Message.objects.filter(pk__in=held, sent_at__isnull=False).count() == count

    wait_until(all_sent, timeout=60, what="the resumed queue")
    assert sends_received(device) == held, "not FIFO"
    handed = dict(
        MessageStatusEvent.objects.filter(message_id__in=held, status="sending").values_list(
            "message_id", "at"
        )
    )
    times = [handed[message_id] for message_id in held]
    assert times == sorted(times)
    # Paced, not released at once: count - burst messages at per_minute after the burst.
    assert (times[-1] - times[0]).total_seconds() >= (count - burst) * 60 / per_minute - 0.5
    assert [
        action for action in AuditEntry.objects.order_by("at").values_list("action", flat=True)
    ] == [
        "handle.pause",
        "handle.resume",
    ]
