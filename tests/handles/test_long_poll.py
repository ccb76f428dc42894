"""Long-polling devices over real HTTP: prompt wake-ups, no database held while idle."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from accounts import services as account_services
from handles import services
from handles.agent import DeviceAgentClient, Job
from tests.conftest import attach_device

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_waiting_device_gets_a_new_job_at_once(live_server):
    account, _ = account_services.account_create(name="Poller")
    device_of = attach_device(account, "+14155550123")
    agent = DeviceAgentClient(live_server.url, device_of.token)
    received: list[Job] = []
    returned_at: list[float] = []

    def poll() -> None:
        received.extend(agent.fetch_jobs(wait=20))
        returned_at.append(time.monotonic())

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)  # let the poll reach its wait
    with transaction.atomic():
        job = services.job_create(handle=device_of.handle, kind="send", payload={"text": "hi"})
    created_at = time.monotonic()
    poller.join(timeout=25)
    assert [j.job_id for j in received] == [job.id]
    # The poll was woken by the job, not by its 20 s wait running out.
    assert returned_at[0] - created_at < 1.0


def test_a_poll_with_nothing_to_do_returns_empty_after_its_wait(live_server):
    account, _ = account_services.account_create(name="Idle")
    device_of = attach_device(account, "+14155550123")
    agent = DeviceAgentClient(live_server.url, device_of.token)
    started = time.monotonic()
    assert agent.fetch_jobs(wait=1) == []
    assert time.monotonic() - started >= 1.0


def _connections_to_test_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.slow
def test_fifty_idle_long_polling_devices_hold_a_handful_of_database_connections(live_server):
    account, _ = account_services.account_create(name="Fleet")
    agents = [
        DeviceAgentClient(live_server.url, attach_device(account, f"+1415555{1000 + n}").token)
        for n in range(50)
    ]
    baseline = _connections_to_test_database()
    with ThreadPoolExecutor(max_workers=50) as pool:
        polls = [pool.submit(agent.fetch_jobs, wait=8) for agent in agents]
        time.sleep(3)  # every poll is now waiting
        samples = []
        for _ in range(9):
            samples.append(_connections_to_test_database() - baseline)
            time.sleep(0.3)
        assert all(poll.result(timeout=30) == [] for poll in polls)
    # Each waiting poll rechecks the database now and then, on a connection it closes again:
    # a sample can catch a few of those at once on a loaded machine. Held connections would be
    # ~50 in every sample; the typical sample is what the fleet holds.
    assert sorted(samples)[len(samples) // 2] <= 5, samples
