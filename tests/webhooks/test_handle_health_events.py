"""Line health end to end: HTTP, the Celery worker, a simulated device and a real webhook
receiver (issue 14). The simulator's failure modes (recipients matching `9999$` are rejected)
drive a handle to `at_risk`, then `critical`: each change reaches the receiver as a
`handle.health_changed` event with its reasons. While it is critical, sends to new contacts
are held (`scheduled`, reason `line_health`) and conversations with known people go on;
an operator's clear, or recovery, lets the held sends go out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app

from handles import services as handle_services
from handles.models import Handle
from handles.simulator import SimulatedDevice
from messaging.models import Message
from tests.messaging.conftest import (
    beat,  # noqa: F401
    wait_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow(seconds=40),
    pytest.mark.usefixtures("beat"),
]

KNOWN = ["+14155553101", "+14155553102", "+14155553103"]
REJECTS = "+14155559999"  # the simulator fails it: `9999$`
NEW = "+14155553201"


@pytest.fixture(autouse=True)
def health_beat(celery_worker: None) -> Iterator[None]:
    """Beat's line-health run, every 2 s instead of each minute: the judgement a device's
    failure asks for is a hint (like a dispatcher wake-up) and beat's run is the record, so a
    lost hint costs this test seconds, as it would cost production a minute."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(2.0):
            current_app.send_task("messaging.tasks.line_health_evaluate")

    ticking = threading.Thread(target=tick, daemon=True)
    ticking.start()
    yield
    stop.set()
    ticking.join()


@pytest.fixture(autouse=True)
def small_rules(settings: Any) -> None:
    settings.SWITCHBOARD_LINE_HEALTH = {
        **settings.SWITCHBOARD_LINE_HEALTH,
        "outcomes": 10,
        "min_outcomes": 4,
        "failure_rate": [0.25, 0.5],
        "device_errors": [20, 40],  # the failure rate alone drives it here
    }


def subscribe(platform: Any, url: str) -> None:
    response = platform.client.post(
        "/v1/webhooks", {"url": url, "events": ["handle.health_changed"]}, format="json"
    )
    assert response.status_code == 201, response.content


def post(platform: Any, to: str) -> dict[str, Any]:
    response = platform.client.post("/v1/messages", {"to": to, "text": f"to {to}"}, format="json")
    assert response.status_code == 202, response.content
    data: dict[str, Any] = response.json()["data"]
    return data


def settled(message_id: str) -> bool:
    return Message.objects.filter(
        pk=message_id, status__in=["delivered", "read", "failed"]
    ).exists()


def send_and_settle(platform: Any, *recipients: str) -> list[str]:
    ids = [post(platform, to)["id"] for to in recipients]
    wait_until(lambda: all(settled(message_id) for message_id in ids), what="the outcomes")
    return ids


def health_events(receiver: Any) -> list[dict[str, Any]]:
    """The `handle.health_changed` events received, once each (delivery is at least once: a
    retried delivery arrives again with the same id), in the order they first arrived."""
    seen: dict[str, dict[str, Any]] = {}
    for received in receiver.bodies_of_type("handle.health_changed"):
        event = json.loads(received.body)
        seen.setdefault(event["id"], event["data"])
    return list(seen.values())


def sent(device: SimulatedDevice) -> list[str]:
    return [job.payload["message_id"] for job in list(device.received) if job.kind == "send"]


def drive_to_critical(platform: Any, receiver: Any) -> tuple[Handle, SimulatedDevice]:
    subscribe(platform, receiver.url)
    handle, device = platform.handle("+14155550123")
    send_and_settle(platform, *KNOWN, REJECTS)  # 1 of 4 failed: 25%
    wait_until(lambda: len(health_events(receiver)) == 1, what="at_risk")
    send_and_settle(platform, REJECTS, REJECTS)  # 3 of 6: 50%
    wait_until(lambda: len(health_events(receiver)) == 2, what="critical")
    return handle, device


def test_failures_drive_a_handle_to_at_risk_then_critical_and_new_contacts_wait(platform, receiver):
    handle, device = drive_to_critical(platform, receiver)
    at_risk, critical = health_events(receiver)
    assert (at_risk["previous"], at_risk["health"]) == ("healthy", "at_risk")
    assert [(r["code"], r["level"], r["value"]) for r in at_risk["reasons"]] == [
        ("failure_rate", "at_risk", 0.25)
    ]
    assert (critical["previous"], critical["health"]) == ("at_risk", "critical")
    assert [(r["code"], r["value"], r["threshold"]) for r in critical["reasons"]] == [
        ("failure_rate", 0.5, 0.5)
    ]
    shown = platform.client.get(f"/v1/handles/{handle.address}").json()["data"]["health"]
    assert (shown["state"], shown["reasons"]) == ("critical", critical["reasons"])

    held = post(platform, NEW)
    assert (held["status"], held["reason"]) == ("scheduled", "line_health")
    conversation = send_and_settle(platform, KNOWN[0])  # a known person: goes on
    assert Message.objects.get(pk=conversation[0]).status in ("delivered", "read")
    assert held["id"] not in sent(device)
    assert Message.objects.get(pk=held["id"]).status == "scheduled"

    handle_services.handle_health_clear(handle=handle, operator=None, reason="checked the SIM")
    wait_until(lambda: held["id"] in sent(device), what="the held send, released by the clear")
    wait_until(lambda: len(health_events(receiver)) == 3, what="healthy")
    cleared = health_events(receiver)[2]
    assert (cleared["previous"], cleared["health"], cleared["reasons"]) == (
        "critical",
        "healthy",
        [],
    )
    assert sent(device).count(held["id"]) == 1


def test_a_critical_handle_that_recovers_sends_what_it_held(platform, receiver):
    handle, device = drive_to_critical(platform, receiver)
    held = post(platform, NEW)
    assert held["reason"] == "line_health"
    # Its conversations go on and go well: 3 failures in the last 10 outcomes is 30%.
    send_and_settle(platform, *KNOWN, *KNOWN, KNOWN[0])
    wait_until(lambda: held["id"] in sent(device), what="the held send, released by recovery")
    wait_until(lambda: len(health_events(receiver)) == 3, what="at_risk again")
    recovered = health_events(receiver)[2]
    assert (recovered["previous"], recovered["health"]) == ("critical", "at_risk")
    assert Handle.objects.get(pk=handle.pk).health == "at_risk"
