"""/metrics over the Procfile's own processes: two web workers, the agents process and a
prefork Celery worker each count what they see, and a scrape of any web worker adds it up."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from accounts import services as account_services
from handles import services as handle_services
from handles.simulator import Behaviour, SimulatedDevice
from messaging.models import Message
from tests import procfile_processes
from tests.messaging.conftest import wait_until
from tests.monitoring.test_metrics import samples, value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=60)]

TOKEN = "metrics-token-for-process-tests-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(url: str, process, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout:.0f} s")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[tuple[str, str]]:
    web_port, agents_port = _free_port(), _free_port()
    env = procfile_processes.procfile_env(
        tmp_path / "var",
        PORT=str(web_port),
        AGENTS_PORT=str(agents_port),
        WEB_CONCURRENCY="2",
        WEB_THREADS="2",
        WORKER_CONCURRENCY="2",
        SWITCHBOARD_METRICS_TOKEN=TOKEN,
    )
    logs = tmp_path / "logs"
    started = [procfile_processes.start(name, env, logs) for name in ("web", "agents", "worker")]
    try:
        web_url, agents_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{agents_port}"
        _wait_up(web_url, started[0], logs / "web.log")
        _wait_up(agents_url, started[1], logs / "agents.log")
        procfile_processes.wait_for_workers(1)
        yield web_url, agents_url
    finally:
        procfile_processes.stop(started)


def test_every_process_counts_into_the_one_scrape(processes, settings):
    web_url, agents_url = processes

    def scrape() -> dict:
        response = requests.get(
            f"{web_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        assert response.status_code == 200
        return samples(response.text)

    account, issued = account_services.account_create(name="Metrics")
    handle = handle_services.handle_assign(
        account=account, address="+14155550170", per_minute=600, burst=10
    )
    device_token = handle_services.device_attach(handle=handle, simulated=True).token
    device = SimulatedDevice(
        base_url=agents_url,
        token=device_token,
        handle=handle.address,
        behaviour=Behaviour(send_delay=0.01, receipt_delay=0.1, poll_wait=2),
    ).start()
    try:
        before = scrape()
        ids = []
        for n in range(5):
            response = requests.post(
                f"{web_url}/v1/messages",
                json={"to": "+14155550199", "text": f"hello {n}"},
                headers={"Authorization": f"Bearer {issued.secret}"},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["data"]["id"])

        def delivered() -> bool:
            done = Message.objects.filter(pk__in=ids, status__in=["delivered", "read"])
            return done.count() == 5

        wait_until(delivered, timeout=60, what="five messages delivered")
        scrapes = [scrape() for _ in range(4)]  # whichever web worker answers
    finally:
        device.stop()

    def moved(after: dict, status: str) -> float:
        labels = {"status": status, "channel": "imessage"}
        return value(after, "switchboard_messages_total", **labels) - value(
            before, "switchboard_messages_total", **labels
        )

    for after in scrapes:
        assert moved(after, "queued") == 5  # counted by the web workers
        assert moved(after, "sending") == 5  # by the Celery worker's children
        assert moved(after, "sent") == 5  # by the agents process, from the device's reports
        assert moved(after, "delivered") == 5
