"""Results and events in batches: one call for many, an outcome each, nothing applied twice."""

from __future__ import annotations

from handles import services
from handles.models import DeviceEvent, Job, RecipientCapability
from tests.conftest import assert_error


def lease(device_of, **params):
    response = device_of.client.get("/device/v1/jobs", {"limit": 50, **params})
    assert response.status_code == 200, response.content
    return response.json()["data"]


def report_many(device_of, *results):
    return device_of.client.post(
        "/device/v1/jobs/results", {"results": list(results)}, format="json"
    )


def done(job_id, **body):
    return {"job_id": job_id, "ok": True, "upstream_id": f"up-{job_id}", **body}


def test_a_batch_of_results_finishes_every_job_in_it(alice_device):
    jobs = [
        services.job_create(handle=alice_device.handle, kind="send", payload={}) for _ in range(3)
    ]
    lease(alice_device)
    response = report_many(alice_device, *(done(job.id) for job in jobs))
    assert response.status_code == 200, response.content
    assert response.json()["data"] == [
        {"job_id": job.id, "outcome": "recorded", "status": "succeeded", "message": ""}
        for job in jobs
    ]
    for job in jobs:
        job.refresh_from_db()
        assert job.status == "succeeded"
        assert job.result == {"ok": True, "upstream_id": f"up-{job.id}", "error": None}


def test_a_withdrawn_job_in_a_batch_is_a_conflict_and_the_others_are_recorded(alice_device):
    kept, withdrawn = (
        services.job_create(handle=alice_device.handle, kind="send", payload={}) for _ in range(2)
    )
    lease(alice_device)
    services.job_withdraw(job=withdrawn)
    answers = report_many(alice_device, done(withdrawn.id), done(kept.id)).json()["data"]
    assert [(a["job_id"], a["outcome"]) for a in answers] == [
        (withdrawn.id, "conflict"),
        (kept.id, "recorded"),
    ]
    assert answers[0]["status"] == "withdrawn"
    assert answers[0]["message"]
    assert Job.objects.get(pk=kept.pk).status == "succeeded"
    assert Job.objects.get(pk=withdrawn.pk).status == "withdrawn"


def test_another_handles_job_in_a_batch_is_not_found_and_left_alone(alice_device, charlie_device):
    charlies = services.job_create(handle=charlie_device.handle, kind="send", payload={})
    lease(charlie_device)
    answers = report_many(alice_device, done(charlies.id)).json()["data"]
    assert answers == [
        {"job_id": charlies.id, "outcome": "not_found", "status": None, "message": "No such job."}
    ]
    assert Job.objects.get(pk=charlies.pk).status == "leased"


def test_a_batch_sent_again_is_all_duplicates_and_changes_nothing(alice_device):
    jobs = [
        services.job_create(handle=alice_device.handle, kind="send", payload={}) for _ in range(2)
    ]
    lease(alice_device)
    report_many(alice_device, *(done(job.id) for job in jobs))
    finished = {job.pk: job.finished_at for job in Job.objects.all()}
    again = report_many(alice_device, *(done(job.id, upstream_id="other") for job in jobs))
    assert [a["outcome"] for a in again.json()["data"]] == ["duplicate", "duplicate"]
    assert {job.pk: job.finished_at for job in Job.objects.all()} == finished
    assert set(Job.objects.values_list("result__upstream_id", flat=True)) == {
        f"up-{j.id}" for j in jobs
    }


def test_the_same_job_twice_in_one_batch_is_recorded_once(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    lease(alice_device)
    answers = report_many(alice_device, done(job.id), done(job.id)).json()["data"]
    assert [a["outcome"] for a in answers] == ["recorded", "duplicate"]


def test_a_malformed_result_refuses_the_whole_batch_and_records_nothing(alice_device):
    good, bad = (
        services.job_create(handle=alice_device.handle, kind="send", payload={}) for _ in range(2)
    )
    lease(alice_device)
    body = assert_error(
        report_many(alice_device, done(good.id), {"job_id": bad.id, "ok": False}),
        400,
        "invalid_request",
    )
    assert "results.1.error" in body["fields"]
    assert set(Job.objects.values_list("status", flat=True)) == {"leased"}


def test_a_batch_of_more_than_100_results_is_invalid(alice_device):
    body = assert_error(
        report_many(alice_device, *(done(f"job_{i}") for i in range(101))), 400, "invalid_request"
    )
    assert "results" in body["fields"]


def test_an_empty_batch_of_results_is_invalid(alice_device):
    assert_error(report_many(alice_device), 400, "invalid_request")


def capability(event_id, handle, **flags):
    return {"id": event_id, "type": "recipient.capability", "data": {"handle": handle, **flags}}


def test_the_same_event_twice_in_one_batch_is_applied_once(alice_device):
    response = alice_device.client.post(
        "/device/v1/events",
        {
            "events": [
                capability("e1", "+14155550199", imessage=True),
                capability("e1", "+14155550199", imessage=False),
            ]
        },
        format="json",
    )
    assert [e["duplicate"] for e in response.json()["data"]] == [False, True]
    assert DeviceEvent.objects.count() == 1
    assert RecipientCapability.objects.get().imessage is True
