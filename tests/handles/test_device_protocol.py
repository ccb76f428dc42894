"""The device agent protocol under /device/v1/: auth, leases, results, events."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from handles import services
from handles.models import Device, DeviceEvent, Job, RecipientCapability
from handles.selectors import DEVICE_REMEMBER_SECONDS
from tests.conftest import assert_error, attach_device


def lease(device_of, **params):
    response = device_of.client.get("/device/v1/jobs", params)
    assert response.status_code == 200, response.content
    return response.json()["data"]


def report(device_of, job_id, **body):
    return device_of.client.post(f"/device/v1/jobs/{job_id}/result", body, format="json")


# --- authentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["", "Device", "Device sbd_wrong", "Bearer sbd_wrong", "Basic Zm9vOmJhcg=="]
)
def test_a_wrong_device_token_is_unauthorized(db, header):
    client = APIClient()
    response = client.post("/device/v1/heartbeat", {}, format="json", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Device")


def test_a_retired_device_token_is_unauthorized(alice, alice_device):
    services.device_attach(handle=alice_device.handle)
    assert_error(
        alice_device.client.post("/device/v1/heartbeat", {}, format="json"), 401, "unauthorized"
    )


def test_an_api_key_is_never_accepted_on_the_device_protocol(alice):
    for header in (f"Bearer {alice.key}", f"Device {alice.key}"):
        response = APIClient().get("/device/v1/jobs", HTTP_AUTHORIZATION=header)
        assert_error(response, 401, "unauthorized")


def test_a_device_token_is_never_accepted_on_the_api(alice_device):
    for header in (f"Bearer {alice_device.token}", f"Device {alice_device.token}"):
        response = APIClient().get("/v1/account", HTTP_AUTHORIZATION=header)
        assert_error(response, 401, "unauthorized")


def test_heartbeat_records_what_the_device_reports(alice_device):
    response = alice_device.client.post(
        "/device/v1/heartbeat",
        {"channels": ["imessage", "sms", "whatsapp"], "whatsapp_connected": True, "version": "2.1"},
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["device_id"] == alice_device.device.id
    assert data["status"] == "online"
    assert data["offline_after"] == 60
    alice_device.device.refresh_from_db()
    assert alice_device.device.whatsapp_connected is True
    assert alice_device.device.version == "2.1"
    assert alice_device.device.last_seen_at is not None


def test_heartbeat_rejects_unknown_channels(alice_device):
    response = alice_device.client.post(
        "/device/v1/heartbeat", {"channels": ["telegram"]}, format="json"
    )
    body = assert_error(response, 400, "invalid_request")
    assert "channels.0" in body["fields"]


# --- jobs ------------------------------------------------------------------------------


def test_jobs_are_leased_oldest_first_with_their_payload(alice_device):
    first = services.job_create(handle=alice_device.handle, kind="send", payload={"text": "1"})
    second = services.job_create(handle=alice_device.handle, kind="send", payload={"text": "2"})
    jobs = lease(alice_device)
    assert [j["job_id"] for j in jobs] == [first.id, second.id]
    assert jobs[0]["payload"] == {"text": "1"}
    assert jobs[0]["deliveries"] == 1
    assert lease(alice_device) == []


def test_a_job_whose_lease_ran_out_is_handed_out_again_with_the_same_id(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    assert [j["job_id"] for j in lease(alice_device)] == [job.id]
    with time_machine.travel(timezone.now() + timedelta(seconds=59)):
        assert lease(alice_device) == []
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        again = lease(alice_device)
    assert [j["job_id"] for j in again] == [job.id]
    assert again[0]["deliveries"] == 2


def test_two_devices_never_see_each_others_jobs(alice_device, charlie_device):
    alices = services.job_create(handle=alice_device.handle, kind="send", payload={})
    charlies = services.job_create(handle=charlie_device.handle, kind="send", payload={})
    assert [j["job_id"] for j in lease(charlie_device)] == [charlies.id]
    assert [j["job_id"] for j in lease(alice_device)] == [alices.id]


def test_limit_caps_the_jobs_returned(alice_device):
    for _ in range(3):
        services.job_create(handle=alice_device.handle, kind="send", payload={})
    assert len(lease(alice_device, limit=2)) == 2


def test_a_wait_over_25_seconds_is_invalid(alice_device):
    body = assert_error(
        alice_device.client.get("/device/v1/jobs", {"wait": 26}), 400, "invalid_request"
    )
    assert "wait" in body["fields"]


def test_reporting_a_result_finishes_the_job(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    lease(alice_device)
    response = report(alice_device, job.id, ok=True, upstream_id="up-1")
    assert response.status_code == 200
    assert response.json()["data"] == {"job_id": job.id, "status": "succeeded", "duplicate": False}
    job.refresh_from_db()
    assert job.result == {"ok": True, "upstream_id": "up-1", "error": None}


def test_the_same_result_twice_changes_nothing_the_second_time(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    lease(alice_device)
    report(alice_device, job.id, ok=False, error={"code": "not_registered", "message": "no"})
    job.refresh_from_db()
    finished_at = job.finished_at
    again = report(
        alice_device, job.id, ok=False, error={"code": "not_registered", "message": "no"}
    )
    assert again.json()["data"]["duplicate"] is True
    job.refresh_from_db()
    assert job.finished_at == finished_at
    assert job.status == "failed"


def test_a_result_for_a_job_the_device_does_not_hold_is_a_conflict(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    assert_error(report(alice_device, job.id, ok=True), 409, "conflict")
    job.refresh_from_db()
    assert job.status == "pending"


def test_a_result_after_the_job_went_to_another_device_is_a_conflict(alice, alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    lease(alice_device)
    replacement = attach_device(alice.account, "+14155550123")
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        lease(replacement)
    response = APIClient().post(
        f"/device/v1/jobs/{job.id}/result",
        {"ok": True},
        format="json",
        HTTP_AUTHORIZATION=f"Device {alice_device.token}",
    )
    assert_error(response, 401, "unauthorized")  # the old device was retired
    assert report(replacement, job.id, ok=True).status_code == 200


def test_a_failed_result_needs_an_error(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    lease(alice_device)
    body = assert_error(report(alice_device, job.id, ok=False), 400, "invalid_request")
    assert "error" in body["fields"]


def test_another_devices_job_is_not_found(alice_device, charlie_device):
    job = services.job_create(handle=charlie_device.handle, kind="send", payload={})
    lease(charlie_device)
    assert_error(report(alice_device, job.id, ok=True), 404, "not_found")
    job.refresh_from_db()
    assert job.status == "leased"


def test_a_withdrawn_job_is_never_handed_out(alice_device):
    job = services.job_create(handle=alice_device.handle, kind="send", payload={})
    assert services.job_withdraw(job=job) is True
    assert lease(alice_device) == []
    assert Job.objects.get(pk=job.pk).status == "withdrawn"


# --- events ----------------------------------------------------------------------------


def push(device_of, *events):
    return device_of.client.post("/device/v1/events", {"events": list(events)}, format="json")


def capability(event_id, handle, **flags):
    return {"id": event_id, "type": "recipient.capability", "data": {"handle": handle, **flags}}


def test_an_event_pushed_twice_is_applied_once(alice, alice_device):
    first = push(alice_device, capability("e1", "+14155550199", imessage=True))
    assert first.json()["data"] == [
        {"id": "e1", "type": "recipient.capability", "duplicate": False}
    ]
    RecipientCapability.objects.update(imessage=False)
    again = push(alice_device, capability("e1", "+14155550199", imessage=True))
    assert again.json()["data"][0]["duplicate"] is True
    assert RecipientCapability.objects.get().imessage is False
    assert DeviceEvent.objects.count() == 1


def test_a_bad_handle_in_an_event_is_invalid_handle_and_nothing_is_written(alice_device):
    response = push(
        alice_device,
        capability("ok-1", "+14155550199", imessage=True),
        capability("bad-1", "12345", imessage=True),
    )
    assert_error(response, 400, "invalid_handle")
    assert DeviceEvent.objects.count() == 0
    assert RecipientCapability.objects.count() == 0


def test_an_event_type_the_server_does_not_know_is_invalid(alice_device):
    response = push(alice_device, {"id": "x", "type": "message.teleported", "data": {}})
    body = assert_error(response, 400, "invalid_request")
    assert "events.0.type" in body["fields"]
    assert DeviceEvent.objects.count() == 0


def test_an_empty_batch_is_invalid(alice_device):
    assert_error(push(alice_device), 400, "invalid_request")


# --- a token remembered for a few seconds ------------------------------------------------


def test_a_device_that_just_called_is_not_looked_up_again(alice_device):
    alice_device.client.post("/device/v1/heartbeat", {}, format="json")
    with CaptureQueriesContext(connection) as captured:
        response = alice_device.client.post("/device/v1/heartbeat", {}, format="json")
    assert response.status_code == 200
    assert not [q for q in captured.captured_queries if "token_hash" in q["sql"]]


def test_a_device_retired_by_another_process_is_refused_once_the_window_passes(alice_device):
    alice_device.client.post("/device/v1/heartbeat", {}, format="json")
    # As another process retiring it would: this process is not told.
    Device.objects.filter(pk=alice_device.device.pk).update(revoked_at=timezone.now())
    later = timezone.now() + timedelta(seconds=DEVICE_REMEMBER_SECONDS + 1)
    with time_machine.travel(later):
        response = alice_device.client.post("/device/v1/heartbeat", {}, format="json")
    assert_error(response, 401, "unauthorized")
