"""Device results and receipts in batches: every message moves, in a bounded number of
statements whatever the batch's size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handles import services as handle_services
from messaging.models import Message
from tests.conftest import send
from tests.messaging.conftest import device_pushes, device_takes_jobs, dispatch


@pytest.fixture
def fast(online):
    """Alice's online handle, paced fast enough to hand out a whole batch at once."""
    handle_services.handle_assign(
        account=online.handle.account, address=online.handle.address, per_minute=6000, burst=200
    )
    online.handle.refresh_from_db()
    return online


def sending(alice, device_of, count):
    """`count` messages handed to the device: its jobs, in order."""
    for n in range(count):
        send(alice, to="+14155550199", text=f"m{n}")
    dispatch(device_of.handle)
    jobs = device_takes_jobs(device_of)
    assert len(jobs) == count
    return jobs


def report_sent(device_of, jobs):
    results = [
        {"job_id": j["job_id"], "ok": True, "upstream_id": f"up-{j['job_id']}"} for j in jobs
    ]
    response = device_of.client.post("/device/v1/jobs/results", {"results": results}, format="json")
    assert response.status_code == 200, response.content
    return response


def receipts(jobs, kind):
    return [
        {
            "id": f"up-{j['job_id']}:{kind}",
            "type": f"message.{kind}",
            "data": {"upstream_id": f"up-{j['job_id']}", "message_id": j["payload"]["message_id"]},
        }
        for j in jobs
    ]


def statuses(jobs):
    ids = [j["payload"]["message_id"] for j in jobs]
    return [Message.objects.get(pk=i).status for i in ids]


def test_a_batch_of_results_marks_every_message_sent_with_its_upstream_id(alice, fast):
    jobs = sending(alice, fast, 5)
    report_sent(fast, jobs)
    for job in jobs:
        message = Message.objects.get(pk=job["payload"]["message_id"])
        assert message.status == "sent"
        assert message.upstream_id == f"up-{job['job_id']}"
        assert [h.status for h in message.history.order_by("id")] == [
            "queued",
            "sending",
            "sent",
        ]


def test_one_push_of_receipts_delivers_and_reads_every_message(alice, fast):
    jobs = sending(alice, fast, 5)
    report_sent(fast, jobs)
    response = device_pushes(fast, *receipts(jobs, "delivered"), *receipts(jobs, "read"))
    assert response.status_code == 200, response.content
    assert statuses(jobs) == ["read"] * 5
    message = Message.objects.get(pk=jobs[0]["payload"]["message_id"])
    assert message.delivered_at is not None
    assert message.read_at is not None


def test_receipts_that_overtake_their_result_imply_sent_once(alice, fast):
    jobs = sending(alice, fast, 2)
    device_pushes(fast, *receipts(jobs, "delivered"), *receipts(jobs, "read"))
    assert statuses(jobs) == ["read", "read"]
    message = Message.objects.get(pk=jobs[0]["payload"]["message_id"])
    history = [(h.status, h.applied) for h in message.history.order_by("id")]
    assert history == [
        ("queued", True),
        ("sending", True),
        ("sent", True),
        ("delivered", True),
        ("read", True),
    ]


def test_a_receipt_for_a_message_this_handle_did_not_send_is_skipped(alice, fast):
    jobs = sending(alice, fast, 1)
    report_sent(fast, jobs)
    stranger = {"id": "x:delivered", "type": "message.delivered", "data": {"upstream_id": "x"}}
    response = device_pushes(fast, stranger, *receipts(jobs, "delivered"))
    assert response.status_code == 200, response.content
    assert statuses(jobs) == ["delivered"]


def statements(call):
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


@pytest.mark.parametrize("kind", ["results", "receipts"])
def test_a_batch_costs_the_same_statements_whatever_its_size(alice, fast, kind):
    small = sending(alice, fast, 3)
    large = sending(alice, fast, 30)
    if kind == "receipts":
        report_sent(fast, small + large)

    def apply(jobs):
        if kind == "results":
            return lambda: report_sent(fast, jobs)
        return lambda: device_pushes(fast, *receipts(jobs, "delivered"))

    assert statements(apply(large)) == statements(apply(small))
