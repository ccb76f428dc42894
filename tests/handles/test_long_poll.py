"""Long-polling devices over real HTTP: prompt wake-ups, no database held while idle.

Through the web process's WSGI threads (the tests' live server) and through the Procfile's
`agents` process (ASGI), where a waiting poll also holds no thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.db import connection, transaction

from accounts import services as account_services
from handles import services
from handles.agent import DeviceAgentClient, Job
from handles.models import Job as JobModel
from tests import procfile_processes
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


# --- the `agents` process (ASGI) ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Agents:
    """The Procfile's `agents` process on a port of its own, on the test's database."""

    def __init__(self, tmp_path: Path) -> None:
        port = _free_port()
        env = procfile_processes.procfile_env(tmp_path / "var", AGENTS_PORT=str(port))
        self.url = f"http://127.0.0.1:{port}"
        self.master = procfile_processes.start("agents", env, tmp_path / "logs")
        self.log = tmp_path / "logs" / "agents.log"

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.master.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"agents did not answer in {timeout:.0f} s")

    def worker_threads(self) -> int:
        """Threads of the (one) worker process that serves the requests."""
        master = self.master.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        assert len(children) == 1, children
        return len(list(Path(f"/proc/{children[0]}/task").iterdir()))


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Agents]:
    process = Agents(tmp_path)
    try:
        process.wait_until_up()
        yield process
    finally:
        procfile_processes.stop([process.master])


def _sessions_opened() -> int:
    """Sessions ever opened to the test database (PostgreSQL's own count)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_a_device_waiting_on_the_agents_process_gets_a_new_job_at_once(agents):
    account, _ = account_services.account_create(name="Poller")
    device_of = attach_device(account, "+14155550123")
    agent = DeviceAgentClient(agents.url, device_of.token)
    received: list[Job] = []
    returned_at: list[float] = []

    def poll() -> None:
        received.extend(agent.fetch_jobs(wait=20))
        returned_at.append(time.monotonic())

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.0)  # let the poll reach its wait
    with transaction.atomic():
        job = services.job_create(handle=device_of.handle, kind="send", payload={"text": "hi"})
    created_at = time.monotonic()
    poller.join(timeout=25)
    assert [j.job_id for j in received] == [job.id]
    assert returned_at[0] - created_at < 1.0


def test_a_wait_on_the_agents_process_ends_empty_in_the_envelope_with_its_request_id(agents):
    account, _ = account_services.account_create(name="Idle")
    device_of = attach_device(account, "+14155550123")
    started = time.monotonic()
    response = requests.get(
        agents.url + "/device/v1/jobs",
        params={"wait": 1},
        headers={"Authorization": f"Device {device_of.token}"},
        timeout=10,
    )
    assert time.monotonic() - started >= 1.0
    assert response.status_code == 200
    assert response.json() == {"data": [], "request_id": response.headers["X-Request-Id"]}


def test_the_agents_process_refuses_a_bad_token_in_the_catalog_shape(agents):
    response = requests.get(
        agents.url + "/device/v1/jobs",
        params={"wait": 5},
        headers={"Authorization": "Device sbd_not-a-token"},
        timeout=10,
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthorized"
    assert body["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.slow
def test_fifty_devices_waiting_on_the_agents_process_hold_no_thread_and_open_no_session(agents):
    account, _ = account_services.account_create(name="Fleet")
    clients = [
        DeviceAgentClient(agents.url, attach_device(account, f"+1415555{1000 + n}").token)
        for n in range(50)
    ]
    with ThreadPoolExecutor(max_workers=50) as pool:
        # One round first: the process has made its pool connections and its helper threads.
        assert all(
            p.result(timeout=30) == [] for p in [pool.submit(c.fetch_jobs, wait=0) for c in clients]
        )
        threads_idle = agents.worker_threads()
        polls = [pool.submit(c.fetch_jobs, wait=15) for c in clients]
        time.sleep(3)  # the polls have been answered by Django and parked (a few at a time)
        sessions_before = _sessions_opened()
        threads_waiting = 0
        for _ in range(5):
            threads_waiting = max(threads_waiting, agents.worker_threads())
            time.sleep(0.4)
        time.sleep(3)
        sessions_after = _sessions_opened()
        assert all(poll.result(timeout=30) == [] for poll in polls)
    # A thread per waiting poll would be 50 more; the process's re-check borrows an executor
    # thread for a moment now and then.
    assert threads_waiting - threads_idle <= 8, (threads_idle, threads_waiting)
    # Re-checks borrow pooled connections: without the pool, ~25 new sessions a second.
    assert sessions_after - sessions_before <= 2


def test_a_job_whose_wake_up_was_lost_reaches_the_device_waiting_on_agents_at_a_recheck(agents):
    account, _ = account_services.account_create(name="Lost wake-up")
    device_of = attach_device(account, "+14155550123")
    agent = DeviceAgentClient(agents.url, device_of.token)
    received: list[Job] = []

    def poll() -> None:
        received.extend(agent.fetch_jobs(wait=20))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(1.0)  # the poll waits
    # Written behind the services' back: no wake-up is sent, as if Redis had lost it.
    job = JobModel.objects.create(handle=device_of.handle, kind="send", payload={"text": "hi"})
    created_at = time.monotonic()
    poller.join(timeout=25)
    assert [j.job_id for j in received] == [job.id]
    # Found by the process's re-check (every 2 s or so), not at the end of the 20 s wait.
    assert time.monotonic() - created_at < 8
