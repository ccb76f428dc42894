"""A worker killed mid-burst loses no message and sends none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from accounts import services as account_services
from handles import services as handle_services
from handles.simulator import Behaviour, SimulatedDevice
from messaging.models import Message
from messaging.services.dispatch import messages_sweep
from tests.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def start_worker(name: str) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "-n",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killing_a_worker_mid_burst_loses_nothing_and_doubles_nothing(live_server):
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
    workers = [start_worker("victim"), start_worker("survivor")]
    try:
        time.sleep(4)  # both workers are consuming
        client = client_for(issued.secret)
        ids = [
            client.post(
                "/v1/messages", {"to": f"+1415555{2000 + n}", "text": f"#{n}"}, format="json"
            ).json()["data"]["id"]
            for n in range(20)
        ]
        time.sleep(3)  # mid-burst: some sent, most still queued
        assert Message.objects.filter(pk__in=ids, status="queued").exists()
        workers[0].send_signal(signal.SIGKILL)
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
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
