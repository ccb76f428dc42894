"""Receivers that accept and never answer delay neither other receivers nor sending.

Issue 11, defect 1: six such receivers (what a cloud outage does to several customers at
once) used to hold every worker process for 10 s a round. The Procfile's processes run
here at their default sizes, on this test's database and Redis; the live server is the web.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
import redis
from django.conf import settings

from accounts import services as account_services
from handles import services as handle_services
from handles.simulator import Behaviour, SimulatedDevice
from messaging.models import Message
from tests.conftest import client_for
from tests.messaging.conftest import handle_device_seen, wait_until
from tests.procfile_processes import procfile_env, start, stop, wait_for_workers, worker_lines
from webhooks import services
from webhooks.models import Event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DEAD_ENDPOINTS = 6
EVENTS = 5
# Events given to each dead receiver: enough for it to hold every attempt it may hold at
# once (its per-endpoint cap), few enough that the queue has no backlog to speak of: what
# is measured is receivers holding workers, not the time to work through a queue.
DEAD_EVENTS = 2
# The acceptance: within 2 s of what the same work takes with no dead endpoint.
ALLOWED_EXTRA_SECONDS = 2.0


class DeadReceiver:
    """Accepts connections and never answers, until closed."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._server.settimeout(0.1)
        self.connections: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}/hooks"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        for conn in self.connections:
            conn.close()


def one_round(client: Any, account: Any, receiver: Any, tag: str) -> tuple[float, float]:
    """Publish EVENTS events to the account's receiver and send one message at once;
    seconds until the receiver had them all, and until the message was `sent`."""
    started = time.monotonic()
    for n in range(EVENTS):
        services.event_publish(
            account=account, type="handle.online", data={"round": tag, "n": n}, subject=tag
        )
    response = client.post("/v1/messages", {"to": "+14155550142", "text": tag}, format="json")
    assert response.status_code == 202, response.content
    message_id = response.json()["data"]["id"]

    def of_round() -> list[Any]:
        return [r for r in receiver.bodies_of_type("handle.online") if tag.encode() in r.body]

    sent_after = None
    deadline = started + 60
    while time.monotonic() < deadline and (sent_after is None or len(of_round()) < EVENTS):
        if (
            sent_after is None
            and Message.objects.filter(pk=message_id, sent_at__isnull=False).exists()
        ):
            sent_after = time.monotonic() - started
        time.sleep(0.05)
    received = of_round()
    assert len(received) == EVENTS, f"{tag}: the receiver got {len(received)} of {EVENTS}"
    assert sent_after is not None, f"{tag}: the message was never sent"
    return max(r.at for r in received) - started, sent_after


def test_six_receivers_that_never_answer_delay_neither_other_receivers_nor_sending(
    live_server, receiver, tmp_path
):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    account, issued = account_services.account_create(name="Healthy")
    services.webhook_endpoint_create(account=account, url=receiver.url, events=["*"])
    handle = handle_services.handle_assign(
        account=account, address="+14155550123", per_minute=600, burst=10
    )
    device = SimulatedDevice(
        base_url=live_server.url,
        token=handle_services.device_attach(handle=handle, simulated=True).token,
        handle=handle.address,
        behaviour=Behaviour(send_delay=0.01, receipt_delay=0.1, poll_wait=2),
    ).start()
    env = procfile_env(tmp_path / "var")
    workers = worker_lines(env)
    processes = [start(name, env, tmp_path / "logs") for name in [*workers, "beat"]]
    dead = [DeadReceiver() for _ in range(DEAD_ENDPOINTS)]
    try:
        wait_for_workers(len(workers))
        wait_until(lambda: handle_device_seen(handle), what="the device's first call")
        client = client_for(issued.secret)
        one_round(client, account, receiver, "warm-up")
        baseline_events, baseline_sent = one_round(client, account, receiver, "baseline")

        for n, dead_receiver in enumerate(dead):
            outage, _ = account_services.account_create(name=f"Outage {n}")
            services.webhook_endpoint_create(account=outage, url=dead_receiver.url, events=["*"])
            for k in range(DEAD_EVENTS):
                services.event_publish(account=outage, type="handle.online", data={"k": k})
        wait_until(
            lambda: (
                sum(len(d.connections) for d in dead) >= DEAD_ENDPOINTS
                and not Event.objects.filter(fanned_out_at__isnull=True).exists()
            ),
            what="the dead receivers to hold attempts",
        )
        events, sent = one_round(client, account, receiver, "outage")
        print(  # the figures docs/webhooks.md quotes (pytest -s)
            f"events {baseline_events:.2f} s -> {events:.2f} s, "
            f"sent {baseline_sent:.2f} s -> {sent:.2f} s, "
            f"attempts held by dead receivers {sum(len(d.connections) for d in dead)}"
        )

        figures = (
            f"with {DEAD_ENDPOINTS} dead receivers: events {events:.1f} s, sent {sent:.1f} s; "
            f"without: events {baseline_events:.1f} s, sent {baseline_sent:.1f} s"
        )
        assert events <= baseline_events + ALLOWED_EXTRA_SECONDS, figures
        assert sent <= baseline_sent + ALLOWED_EXTRA_SECONDS, figures
    finally:
        for dead_receiver in dead:
            dead_receiver.close()
        device.stop()
        stop(processes)
