"""The bundled simulator is a real agent: it takes jobs over HTTP and reports like a device."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import services as account_services
from handles import services
from handles.models import Job
from handles.simulator import Behaviour, SimulatedDevice

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulated(live_server):
    account, _ = account_services.account_create(name="Sim")
    handle = services.handle_assign(account=account, address="+14155550123")
    issued = services.device_attach(handle=handle, simulated=True)
    device = SimulatedDevice(
        base_url=live_server.url,
        token=issued.token,
        handle=handle.address,
        behaviour=Behaviour(send_delay=0.01, receipt_delay=0.05, poll_wait=2),
    ).start()
    yield handle, device
    device.stop()


def wait_for_job(job: Job, timeout: float = 10) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job.id} still {job.status}")


def result_of(job: Job) -> dict:
    assert job.result is not None
    return job.result


def test_the_simulator_sends_and_reports_success(simulated):
    handle, device = simulated
    job = services.job_create(
        handle=handle, kind="send", payload={"to": "+14155550199", "channel": "imessage"}
    )
    job = wait_for_job(job)
    assert job.status == "succeeded"
    assert result_of(job)["upstream_id"].startswith("sim-")
    assert [j.job_id for j in device.received] == [job.id]


def test_the_simulator_reports_pattern_recipients_as_not_on_imessage(simulated):
    handle, _ = simulated
    job = services.job_create(
        handle=handle, kind="send", payload={"to": "+14155550000", "channel": "imessage"}
    )
    job = wait_for_job(job)
    assert job.status == "failed"
    assert result_of(job)["error"]["code"] == "not_registered"


def test_the_simulator_fails_pattern_recipients(simulated):
    handle, _ = simulated
    job = services.job_create(
        handle=handle, kind="send", payload={"to": "+14155559999", "channel": "sms"}
    )
    assert result_of(wait_for_job(job))["error"]["code"] == "undeliverable"


def test_a_simulator_told_to_go_offline_stops_taking_jobs_and_its_handle_goes_offline(simulated):
    handle, device = simulated
    wait_for_job(services.job_create(handle=handle, kind="send", payload={"to": "+14155550199"}))
    device.go_offline()
    time.sleep(2.5)  # its last poll finishes
    job = services.job_create(handle=handle, kind="send", payload={"to": "+14155550199"})
    time.sleep(1)
    job.refresh_from_db()
    assert job.status == "pending"
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert services.handles_mark_offline() == 1
    device.come_online()
    assert wait_for_job(job).status == "succeeded"


def test_the_simulator_fails_jobs_it_does_not_know(simulated):
    handle, _ = simulated
    job = wait_for_job(services.job_create(handle=handle, kind="teleport", payload={}))
    assert result_of(job)["error"]["code"] == "unsupported"


def test_pattern_is_configurable():
    behaviour = Behaviour(not_registered=re.compile(r"^\+44"))
    assert behaviour.not_registered.search("+447911123456")
