"""Two tenants: alice owns things; charlie should have no access to Alice's stuff."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Account
from accounts.selectors import api_keys_forget
from handles.selectors import devices_forget
from tests import log_capture
from tests.operator_support import operator_client


def pytest_configure(config: pytest.Config) -> None:
    """Everything logged during the run goes to one directory (tests/log_capture.py)."""
    log_capture.start(config)


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering, which it keeps in each half
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest files first, so xdist starts them at once (Makefile: loadfile, no reorder).

    With 2 workers the run is as long as its busiest worker: a 3-minute file handed out last
    leaves the other worker idle for minutes. The sort is stable, so every worker collects
    the same order, which xdist requires.
    """
    seconds: dict[Path, int] = {}
    for item in items:
        marker = item.get_closest_marker("slow")
        if marker is not None:
            # `slow(seconds=…)`: about how long the file takes; the longest starts first.
            weight = int(marker.kwargs.get("seconds", 10))
            seconds[item.path] = max(seconds.get(item.path, 0), weight)
    items.sort(key=lambda item: -seconds.get(item.path, 0))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Still everything, whatever reconfigured logging since (tests/log_capture.py)."""
    log_capture.capture_everything()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run if any process logged a secret (tests/log_capture.py)."""
    log_capture.finish(session)


_STARTED = time.time()
SCHEMATHESIS_SUMMARY = Path(__file__).resolve().parents[1] / "var" / "schemathesis" / "summary.json"


FAULT_FIGURES = SCHEMATHESIS_SUMMARY.parents[1] / "faults"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Quote the figures of this run's Schemathesis pass (tests/api/test_schemathesis.py) and
    of its fault bursts (tests/faults/)."""
    if SCHEMATHESIS_SUMMARY.exists() and SCHEMATHESIS_SUMMARY.stat().st_mtime >= _STARTED:
        terminalreporter.write_sep("-", "schemathesis")
        terminalreporter.write_line(SCHEMATHESIS_SUMMARY.read_text())
    faults = sorted(
        path for path in FAULT_FIGURES.glob("*.txt") if path.stat().st_mtime >= _STARTED
    )
    if faults:
        terminalreporter.write_sep("-", "faults")
        for path in faults:
            terminalreporter.write_line(path.read_text().strip())


@dataclass
class Tenant:
    account: Account
    key: str
    client: APIClient


def client_for(secret: str) -> APIClient:
    """An API client that authenticates with this key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _tenant(name: str, email: str) -> Tenant:
    account, issued = services.account_create(name=name, owner_email=email)
    return Tenant(account=account, key=issued.secret, client=client_for(issued.secret))


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters and idempotency locks start empty for every test, and no API key
    or device token is remembered by the process (`accounts.selectors`, `handles.selectors`)."""
    cache.clear()
    api_keys_forget()
    devices_forget()


@pytest.fixture
def alice(db: Any) -> Tenant:
    return _tenant("Alice Co", "alice@example.com")


@pytest.fixture
def charlie(db: Any) -> Tenant:
    return _tenant("Charlie Ltd", "charlie@example.com")


@pytest.fixture
def operator(db: Any) -> Client:
    """An operator signed in to admin (a superuser: `tests.operator_support`)."""
    return operator_client()


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def signed_in(account: Account, role: str, email: str | None = None) -> Client:
    """A dashboard session of a member of `account` with `role`, made by the real service."""
    email = email or f"{role}@{account.pk.lower()}.test"
    added = services.member_add(account=account, email=email, role=role)
    client = Client()
    client.force_login(added.membership.user)
    return client


def post_message(tenant: Any, *, idempotency_key: str | None = None, **body: Any) -> Any:
    """POST /v1/messages as this tenant (or anything with an API `client`)."""
    headers = {} if idempotency_key is None else {"HTTP_IDEMPOTENCY_KEY": idempotency_key}
    return tenant.client.post("/v1/messages", body, format="json", **headers)


def send(tenant: Any, **body: Any) -> dict[str, Any]:
    """Send a message as this tenant; it is accepted (202). Its data."""
    response = post_message(tenant, **body)
    assert response.status_code == 202, response.content
    data: dict[str, Any] = response.json()["data"]
    return data


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The seed's error shape, exactly, with the request id mirrored in the header."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code, body
    expected_keys = {"error", "message", "request_id"} | ({"fields"} if "fields" in body else set())
    assert set(body) == expected_keys
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["request_id"].startswith("req_")
    assert body["request_id"] == response["X-Request-Id"]
    return body


@dataclass
class DeviceOf:
    """A handle of a tenant with a live device and a client authenticated as that device."""

    handle: Any
    device: Any
    token: str
    client: APIClient


def attach_device(account: Account, address: str) -> DeviceOf:
    from handles import services as handle_services

    handle = handle_services.handle_assign(account=account, address=address)
    issued = handle_services.device_attach(handle=handle)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {issued.token}")
    return DeviceOf(handle=handle, device=issued.device, token=issued.token, client=client)


@pytest.fixture
def alice_device(alice: Tenant) -> DeviceOf:
    return attach_device(alice.account, "+14155550123")


@pytest.fixture
def charlie_device(charlie: Tenant) -> DeviceOf:
    return attach_device(charlie.account, "+14155550177")
