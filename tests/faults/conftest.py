"""The fault tests' platform: private PostgreSQL and Redis, the Procfile's processes, an
account with ten handles and their simulated devices, a webhook receiver for everything.

One platform serves the module (starting it costs a cluster, migrations and the processes);
each test gets an account of its own on it, so its counts are its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from handles.simulator import Behaviour, SimulatedDevice
from tests.faults.burst import Client, Ledger, WebhookReceiver
from tests.faults.stack import (
    PrivatePostgres,
    PrivateRedis,
    Stack,
    build_stack,
    make_workdir,
    provision,
    wait_for,
)

HANDLES = 10


@dataclass
class Platform:
    stack: Stack
    postgres: PrivatePostgres
    redis: PrivateRedis


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    workdir = make_workdir()
    redis = PrivateRedis(workdir)
    postgres = PrivatePostgres(workdir)
    stack = build_stack(workdir, database_url=postgres.url, redis_url=redis.url)
    try:
        redis.start()
        postgres.init()
        stack.manage("migrate", "--noinput", timeout=300)
        for name in stack.processes:
            stack.start(name)
        wait_for(stack.ready, timeout=60, what="the web process's /readyz")
        wait_for(
            lambda: requests.get(stack.agents_url + "/healthz", timeout=5).status_code == 200,
            timeout=60,
            what="the agents process's /healthz",
        )
        assert stack.dead() == [], f"died at start; see {workdir}/*.log"
        yield Platform(stack=stack, postgres=postgres, redis=redis)
    finally:
        stack.stop_all()
        postgres.destroy()
        redis.stop()
        if os.environ.get("SWITCHBOARD_KEEP_FAULT_LOGS"):
            print(f"\nfault logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Tenant:
    account_id: str
    client: Client
    handles: list[str]
    devices: list[SimulatedDevice]
    receiver: WebhookReceiver
    ledger: Ledger

    def sent_to_devices(self) -> list[str]:
        """The message id of every send job the devices were handed (once per job)."""
        return [
            str(job.payload["message_id"])
            for device in self.devices
            for job in device.received
            if job.kind == "send"
        ]


_tenants = iter(range(1, 100))


@pytest.fixture
def tenant(platform: Platform) -> Iterator[Tenant]:
    """An account with ten fast handles, each with a running simulated device, and one
    webhook endpoint for every event type, on its own receiver."""
    number = next(_tenants)
    handles = [f"+1628555{number:02d}{n:02d}" for n in range(HANDLES)]
    made = provision(
        platform.stack,
        {
            "name": f"Faults {number}",
            "rate_limit": 100_000,
            "handles": handles,
            "per_minute": 60_000,
            "burst": 200,
        },
    )
    base_url = platform.stack.base_url
    receiver = WebhookReceiver().start()
    client = Client(base_url, made["key"])
    response = requests.post(
        base_url + "/v1/webhooks",
        json={"url": receiver.url, "events": ["*"]},
        headers=client.headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["data"]["secret"]
    devices = [
        SimulatedDevice(
            base_url=platform.stack.agents_url,
            token=device["token"],
            handle=device["handle"],
            behaviour=Behaviour(send_delay=0.0, receipt_delay=0.2, poll_wait=5),
        ).start()
        for device in made["devices"]
    ]
    ledger = Ledger(platform.postgres.url, made["account_id"])
    try:
        wait_for(lambda: _all_online(ledger, len(handles)), timeout=30, what="every device online")
        yield Tenant(made["account_id"], client, handles, devices, receiver, ledger)
    finally:
        for device in devices:
            device.stop(timeout=1)
        receiver.stop()


def _all_online(ledger: Ledger, count: int) -> bool:
    rows = ledger._rows(
        "SELECT count(*) FROM handles_device d JOIN handles_handle h ON h.id = d.handle_id "
        "WHERE h.account_id = %s AND d.revoked_at IS NULL AND d.last_seen_at IS NOT NULL",
        ledger.account_id,
    )
    return int(rows[0][0]) == count
