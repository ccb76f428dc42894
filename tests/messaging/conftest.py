"""The real pipeline for messaging tests: live server, Celery worker, simulated devices."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import services as account_services
from config.celery import app as celery_app
from handles import services as handle_services
from handles.models import Handle
from handles.simulator import Behaviour, SimulatedDevice
from tests.conftest import client_for


@pytest.fixture
def celery_worker(transactional_db: Any) -> Iterator[None]:
    """A real Celery worker (threads) consuming the test broker, inside this process."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    with start_worker(
        celery_app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"
    ):
        yield


@dataclass
class Platform:
    base_url: str
    account: Any
    key: str
    client: Any
    devices: list[SimulatedDevice]

    def handle(
        self, address: str, *, per_minute: int = 600, burst: int = 10, **behaviour: Any
    ) -> tuple[Handle, SimulatedDevice]:
        """A handle of this account with a running simulated device."""
        handle = handle_services.handle_assign(
            account=self.account, address=address, per_minute=per_minute, burst=burst
        )
        issued = handle_services.device_attach(handle=handle, simulated=True)
        device = SimulatedDevice(
            base_url=self.base_url,
            token=issued.token,
            handle=handle.address,
            behaviour=Behaviour(
                **{"send_delay": 0.01, "receipt_delay": 0.1, "poll_wait": 2, **behaviour}
            ),
        ).start()
        self.devices.append(device)
        wait_until(lambda: handle_device_seen(handle), what="the device's first call")
        return handle, device


def handle_device_seen(handle: Handle) -> bool:
    return handle.devices.filter(revoked_at__isnull=True, last_seen_at__isnull=False).exists()


def wait_until(check: Callable[[], bool], *, timeout: float = 20, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def platform(live_server: Any, celery_worker: None) -> Iterator[Platform]:
    account, issued = account_services.account_create(name="Pipeline")
    running = Platform(
        base_url=live_server.url,
        account=account,
        key=issued.secret,
        client=client_for(issued.secret),
        devices=[],
    )
    yield running
    for device in running.devices:
        device.stop()


@pytest.fixture
def beat(celery_worker: None) -> Iterator[None]:
    """The messages sweeper on beat's schedule (every 5 s, through the broker), as deployed.

    The dispatcher's wake-ups are hints and the sweeper is what re-kicks a handle whose
    wake-up was lost (messaging.services.dispatch_wakeups); a test of a long paced run takes
    the platform whole, so a lost wake-up costs it seconds, as it would in production, rather
    than the rest of the run."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(SWEEP_EVERY):
            celery_app.send_task("messaging.tasks.messages_sweep")

    ticking = threading.Thread(target=tick, daemon=True)
    ticking.start()
    yield
    stop.set()
    ticking.join()


SWEEP_EVERY = cast(float, settings.CELERY_BEAT_SCHEDULE["sweep-messages"]["schedule"])


# --- attachments ---------------------------------------------------------------------------

# A one-pixel PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8"
    "ffff3f0005fe02fea7d6a4b40000000049454e44ae426082"
)


def upload(tenant: Any, name: str, content: bytes) -> Any:
    """POST /v1/attachments with one file."""
    return tenant.client.post(
        "/v1/attachments", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


# --- without workers: drive dispatch and the device protocol by hand -------------------


@pytest.fixture
def online(alice_device: Any) -> Any:
    """Alice's handle with its device online (it has just called)."""
    response = alice_device.client.post("/device/v1/heartbeat", {}, format="json")
    assert response.status_code == 200
    return alice_device


def dispatch(handle: Handle) -> Any:
    from messaging.services.dispatch import handle_dispatch

    return handle_dispatch(handle_id=handle.pk)


def device_takes_jobs(device_of: Any) -> list[dict[str, Any]]:
    response = device_of.client.get("/device/v1/jobs", {"limit": 50})
    assert response.status_code == 200, response.content
    jobs: list[dict[str, Any]] = response.json()["data"]
    return jobs


def device_reports(device_of: Any, job: dict[str, Any], **result: Any) -> None:
    response = device_of.client.post(
        f"/device/v1/jobs/{job['job_id']}/result", result, format="json"
    )
    assert response.status_code == 200, response.content


def device_pushes(device_of: Any, *events: dict[str, Any]) -> Any:
    return device_of.client.post("/device/v1/events", {"events": list(events)}, format="json")
