"""New-contact budgets end to end: HTTP, the Celery worker, simulated devices (issue 14).

A handle with a budget of 5 gets sends to 3 people it knows (they wrote in first) and to 8
it has never messaged: the 3 and the first 5 new ones go out at its pace, the last 3 wait,
`scheduled` with their reason, and go out, in order, once the budget renews; or, with a
second handle that has budget left and the sender left to Switchboard, from that handle.
Nothing is lost and nothing is sent twice: checked on what the devices received.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from handles import services as handle_services
from handles.models import Handle
from handles.simulator import SimulatedDevice
from messaging.models import HandleContact, Message
from messaging.services import releasing
from tests.messaging.conftest import wait_until
from tests.operator_support import operator_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=40)]

KNOWN = ["+14155553001", "+14155553002", "+14155553003"]
NEW = [f"+1415555{4001 + n}" for n in range(8)]


def write_in(device: SimulatedDevice, handle: Handle, people: list[str]) -> None:
    """These people write to the handle first (inbound, through the device protocol)."""
    device.client.push_events(
        [
            {
                "id": f"in-{person}",
                "type": "message.received",
                "data": {"upstream_id": f"in-{person}", "from": person, "text": "hi"},
            }
            for person in people
        ]
    )
    wait_until(
        lambda: (
            HandleContact.objects.filter(handle=handle, address__in=people).count() == len(people)
        ),
        what="the inbound messages",
    )


def sent(device: SimulatedDevice) -> list[str]:
    """The message ids the device was given to send, in the order it got them."""
    return [job.payload["message_id"] for job in list(device.received) if job.kind == "send"]


def post(platform: Any, to: str) -> tuple[str, Any]:
    response = platform.client.post("/v1/messages", {"to": to, "text": f"to {to}"}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["data"]["id"], response


def test_past_its_budget_a_handle_holds_new_contacts_and_sends_them_in_order_after_renewal(
    platform, beat
):
    handle, device = platform.handle("+14155550123")
    Handle.objects.filter(pk=handle.pk).update(new_contact_budget=5)
    write_in(device, handle, KNOWN)

    known_ids, new_ids, remaining = [], [], []
    for n, address in enumerate(NEW):
        message_id, response = post(platform, address)
        new_ids.append(message_id)
        remaining.append(response["X-New-Contacts-Remaining"])
        if n < len(KNOWN):
            known_ids.append(post(platform, KNOWN[n])[0])
    assert remaining == ["4", "3", "2", "1", "0", "0", "0", "0"]
    held = new_ids[5:]
    for message in Message.objects.filter(pk__in=held):
        assert (message.status, message.status_reason, message.send_at) == (
            "scheduled",
            "new_contact_budget",
            None,
        )
    going = known_ids + new_ids[:5]
    wait_until(lambda: set(going) <= set(sent(device)), what="the 8 sends within budget")
    assert not set(held) & set(sent(device))
    assert releasing.held_release(handle_id=handle.pk) == 0

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=True):
        assert releasing.held_release(handle_id=handle.pk) == 3
        wait_until(lambda: set(held) <= set(sent(device)), what="the held sends")
        usage = platform.client.get(f"/v1/handles/{handle.address}").json()["data"]
    assert usage["new_contacts"]["used"] == 3
    order = sent(device)
    assert [message_id for message_id in order if message_id in held] == held  # FIFO
    counts = Counter(order)
    assert set(counts) == set(going) | set(held)  # nothing lost
    assert set(counts.values()) == {1}  # nothing twice


def test_with_the_sender_left_to_switchboard_another_handle_with_budget_takes_the_new_ones(
    platform, beat
):
    first, first_device = platform.handle("+14155550123")
    Handle.objects.filter(pk=first.pk).update(new_contact_budget=5)
    write_in(first_device, first, KNOWN)
    ids = [post(platform, address)[0] for address in [*KNOWN, *NEW[:5]]]
    assert set(Message.objects.filter(pk__in=ids).values_list("handle_id", flat=True)) == {first.pk}

    _second, second_device = platform.handle("+14155550124")
    rest = [post(platform, address)[0] for address in NEW[5:]]
    # Known recipients stay on their number even though its budget is spent.
    again = post(platform, KNOWN[0])[0]
    wait_until(lambda: set(rest) <= set(sent(second_device)), what="the rest, from the second")
    wait_until(lambda: {*ids, again} <= set(sent(first_device)), what="the first's sends")
    assert not Message.objects.filter(status="scheduled").exists()
    everything = Counter(sent(first_device) + sent(second_device))
    assert set(everything) == {*ids, *rest, again}
    assert set(everything.values()) == {1}
    assert Message.objects.get(pk=again).handle_id == first.pk


def test_an_operator_raising_the_budget_releases_what_waited_at_once(platform):
    # No beat here: the minute's release would come too late for this wait.
    handle, device = platform.handle("+14155550123")
    Handle.objects.filter(pk=handle.pk).update(new_contact_budget=0)
    message_id, _ = post(platform, NEW[0])
    assert Message.objects.get(pk=message_id).status_reason == "new_contact_budget"

    handle_services.handle_assign(
        account=platform.account, address=handle.address, new_contact_budget=1
    )

    wait_until(lambda: message_id in sent(device), what="the held send")
    assert Message.objects.get(pk=message_id).status_reason == ""


def test_raising_the_budget_in_admin_releases_what_waited_at_once(platform):
    handle, device = platform.handle("+14155550123")
    Handle.objects.filter(pk=handle.pk).update(new_contact_budget=0)
    message_id, _ = post(platform, NEW[0])
    operator = operator_client()
    form = {
        "address": handle.address,
        "channels": '["imessage", "sms"]',
        "per_minute": str(handle.per_minute),
        "burst": str(handle.burst),
        "new_contact_budget": "1",
        "devices-TOTAL_FORMS": "0",
        "devices-INITIAL_FORMS": "0",
        "devices-MIN_NUM_FORMS": "0",
        "devices-MAX_NUM_FORMS": "1000",
    }

    response = operator.post(f"/admin/handles/handle/{handle.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    wait_until(lambda: message_id in sent(device), what="the held send")
