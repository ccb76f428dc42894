"""An agent never loses a result or a receipt: what the server did not acknowledge is resent."""

from __future__ import annotations

import time

import pytest

from accounts import services as account_services
from handles import services
from handles.agent import AgentError, DeviceAgentClient, Outbox
from handles.models import DeviceEvent, Job
from handles.simulator import Behaviour, SimulatedDevice
from tests.conftest import attach_device
from tests.handles.flaky_proxy import FAULTS, flaky_proxy

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(check, *, timeout: float = 30, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_result_and_receipt_arrives_when_the_server_refuses_or_drops_the_first_batches(
    live_server,
):
    account, _ = account_services.account_create(name="Flaky")
    handle = services.handle_assign(account=account, address="+14155550123")
    issued = services.device_attach(handle=handle, simulated=True)
    plan = list(FAULTS) * 3  # the first 12 reports fail, each way three times
    with flaky_proxy(live_server.url, plan) as proxy:
        device = SimulatedDevice(
            base_url=proxy.url,
            token=issued.token,
            handle=handle.address,
            behaviour=Behaviour(
                send_delay=0.0, receipt_delay=0.05, poll_wait=1, retry_max_delay=0.2
            ),
        ).start()
        try:
            jobs = [
                services.job_create(handle=handle, kind="send", payload={"to": "+14155550199"})
                for _ in range(30)
            ]
            wait_until(
                lambda: (
                    DeviceEvent.objects.count() == 2 * len(jobs)
                    and not Job.objects.exclude(status="succeeded").exists()
                ),
                what="every result and receipt",
            )
        finally:
            device.stop()
    assert proxy.plan == []  # every fault was met
    assert sum(proxy.injected.values()) == len(plan)
    upstream_ids = set(Job.objects.values_list("result__upstream_id", flat=True))
    assert set(DeviceEvent.objects.values_list("external_id", flat=True)) == {
        f"{upstream_id}:message.{kind}"
        for upstream_id in upstream_ids
        for kind in ("delivered", "read")
    }
    assert device.outbox.refused == []
    assert len(device.received) == len(jobs)


def test_a_batch_refused_as_a_whole_is_resent_one_by_one_so_only_the_bad_report_is_lost(
    live_server,
):
    account, _ = account_services.account_create(name="Picky")
    device_of = attach_device(account, "+14155550123")
    outbox = Outbox(DeviceAgentClient(live_server.url, device_of.token))
    outbox.add_event(
        {"id": "c1", "type": "recipient.capability", "data": {"handle": "+14155550199"}}
    )
    outbox.add_event({"id": "bad", "type": "recipient.capability", "data": {"handle": "12345"}})
    outbox.add_event(
        {"id": "c2", "type": "recipient.capability", "data": {"handle": "+14155550198"}}
    )
    outbox.flush()
    assert len(outbox) == 0
    assert set(DeviceEvent.objects.values_list("external_id", flat=True)) == {"c1", "c2"}
    ((report, error),) = outbox.refused
    assert report.body["id"] == "bad"
    assert error.status == 400


def test_a_batch_the_server_did_not_answer_stays_queued_in_order(live_server):
    account, _ = account_services.account_create(name="Down")
    device_of = attach_device(account, "+14155550123")
    # Twice: the outbox tries a dropped call once more at once (a stale kept-alive connection).
    with flaky_proxy(live_server.url, ["drop_after", "drop_after"]) as proxy:
        outbox = Outbox(DeviceAgentClient(proxy.url, device_of.token))
        outbox.add_event(
            {"id": "c1", "type": "recipient.capability", "data": {"handle": "+14155550199"}}
        )
        with pytest.raises(AgentError) as raised:
            outbox.flush()
        assert raised.value.status == 0
        assert len(outbox) == 1  # applied by the server, but not acknowledged: kept
        outbox.flush()
    assert len(outbox) == 0
    assert outbox.acknowledged == 1
    assert DeviceEvent.objects.count() == 1


class _Recorder:
    """A client that records the calls an outbox makes (the order is what is tested)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def report_results(self, results):
        self.calls.append(("results", [r["job_id"] for r in results]))
        return []

    def push_events(self, events):
        self.calls.append(("events", [e["id"] for e in events]))
        return []


def test_all_waiting_results_go_in_one_call_and_no_event_overtakes_an_earlier_result():
    client = _Recorder()
    outbox = Outbox(client)  # type: ignore[arg-type]
    outbox.add_result("j1", ok=True)
    outbox.add_event({"id": "e1", "type": "message.delivered", "data": {}})
    outbox.add_result("j2", ok=True)
    outbox.add_event({"id": "e2", "type": "message.delivered", "data": {}})
    outbox.flush()
    assert client.calls == [("results", ["j1", "j2"]), ("events", ["e1", "e2"])]


def test_events_queued_before_any_result_go_first():
    client = _Recorder()
    outbox = Outbox(client)  # type: ignore[arg-type]
    outbox.add_event({"id": "e1", "type": "message.received", "data": {}})
    outbox.add_result("j1", ok=True)
    outbox.add_event({"id": "e2", "type": "message.delivered", "data": {}})
    outbox.flush()
    assert client.calls == [("events", ["e1"]), ("results", ["j1"]), ("events", ["e2"])]
