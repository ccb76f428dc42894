"""A worker killed mid-burst loses no message and sends none twice."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from accounts import services as account_services
from handles import services as handle_services
from handles.simulator import Behaviour, SimulatedDevice
from messaging.models import Message
from messaging.services.dispatch import messages_sweep
from tests.conftest import client_for
from tests.messaging.conftest import wait_until
from tests.procfile_processes import kill, procfile_env, start, stop, wait_for_workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def start_worker(name: str, tmp_path: Path, line: str = "worker") -> subprocess.Popen[bytes]:
    """The Procfile's `line` worker, named `name`, at 2 processes (its WORKER_CONCURRENCY /
    WEBHOOK_CONCURRENCY knob), on this test's database and broker."""
    env = procfile_env(tmp_path / "var", WORKER_CONCURRENCY="2", WEBHOOK_CONCURRENCY="2")
    return start(line, env, tmp_path / "logs", "--hostname", f"{name}@%h")


def test_killing_a_worker_mid_burst_loses_nothing_and_doubles_nothing(live_server, tmp_path):
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    account, issued = account_services.account_create(name="Crash")
    handle = handle_services.handle_assign(
        account=account, address="+14155550123", per_minute=120, burst=2
    )
    device = SimulatedDevice(
        base_url=live_server.url,
        token=handle_services.device_attach(handle=handle, simulated=True).token,
        handle=handle.address,
        behaviour=Behaviour(send_delay=0.01, receipt_delay=0.1, poll_wait=2),
    ).start()
    workers = [start_worker("victim", tmp_path), start_worker("survivor", tmp_path)]
    try:
        wait_for_workers(2)
        client = client_for(issued.secret)
        ids = [
            client.post(
                "/v1/messages", {"to": f"+1415555{2000 + n}", "text": f"#{n}"}, format="json"
            ).json()["data"]["id"]
            for n in range(20)
        ]
        wait_until(  # mid-burst: some sent, the rest still queued (2 a second at most)
            lambda: Message.objects.filter(pk__in=ids, sent_at__isnull=False).exists(),
            what="the first message sent",
        )
        assert Message.objects.filter(pk__in=ids, status="queued").exists()
        kill(workers[0])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if Message.objects.filter(pk__in=ids, sent_at__isnull=False).count() == 20:
                break
            messages_sweep()  # what beat does every 5 s
            time.sleep(1)
        sent = Message.objects.filter(pk__in=ids, sent_at__isnull=False).count()
        assert sent == 20
        received = Counter(job.payload["message_id"] for job in device.received)
        assert set(received) == set(ids)
        assert max(received.values()) == 1
    finally:
        device.stop()
        stop(workers)
