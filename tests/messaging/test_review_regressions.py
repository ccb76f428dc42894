"""Edges found in review: in-flight sends never expired, reassigned handles, retries, input."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from handles import services as handle_services
from handles.models import Handle, Job
from messaging.dispatch import messages_sweep
from messaging.models import Message
from tests.conftest import assert_error
from tests.messaging.conftest import device_reports, device_takes_jobs, dispatch


def send(tenant, **body):
    response = tenant.client.post("/v1/messages", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["data"]


def test_a_send_a_device_has_fetched_is_never_expired(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert messages_sweep().expired == 0
    assert Message.objects.get(pk=message["id"]).status == "sending"
    device_reports(online, job, ok=True, upstream_id="late-but-sent")
    assert Message.objects.get(pk=message["id"]).status == "sent"


def test_a_send_no_device_fetched_expires_and_its_job_is_withdrawn(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert messages_sweep().expired == 1
    assert Message.objects.get(pk=message["id"]).error_code == "expired"
    assert Job.objects.get().status == "withdrawn"


def test_messages_waiting_on_a_moved_handle_fail_instead_of_going_out(alice, online, charlie):
    message = send(alice, to="+14155550199", text="alice's words")
    handle_services.handle_assign(account=charlie.account, address="+14155550123", move=True)
    dispatch(online.handle)
    assert device_takes_jobs(online) == []
    data = alice.client.get(f"/v1/messages/{message['id']}").json()["data"]
    assert data["status"] == "failed"
    assert data["error"]["code"] == "handle_unassigned"
    response = alice.client.post(f"/v1/messages/{message['id']}/retry")
    assert_error(response, 400, "invalid_from_handle")


def test_assigning_another_accounts_handle_needs_an_explicit_move(alice, online, charlie):
    from config.api.errors import ApiError

    with pytest.raises(ApiError):
        handle_services.handle_assign(account=charlie.account, address="+14155550123")
    assert Handle.objects.get(address="+14155550123").account_id == alice.account.id


def test_a_retry_forgets_the_last_attempts_times_and_network_id(alice, online):
    message = send(alice, to="+14155550199", text="hi")
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=True, upstream_id="first")
    online.client.post(
        "/device/v1/events",
        {"events": [{"id": "f1", "type": "message.failed", "data": {"upstream_id": "first"}}]},
        format="json",
    )
    data = alice.client.post(f"/v1/messages/{message['id']}/retry").json()["data"]
    assert data["status"] == "queued"
    assert data["sent_at"] is None
    assert data["failed_at"] is None
    dispatch(online.handle)
    (second,) = device_takes_jobs(online)
    device_reports(online, second, ok=True, upstream_id="second")
    stored = Message.objects.get(pk=message["id"])
    assert stored.upstream_id == "second"
    assert stored.sent_at is not None


def test_text_keeps_its_whitespace(alice, online):
    data = send(alice, to="+14155550199", text="  indented\nand a newline\n")
    assert data["text"] == "  indented\nand a newline\n"


def test_whitespace_only_text_is_no_text(alice, online):
    response = alice.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "   "}, format="json"
    )
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("limit", ["\u00b2", "\u0661\u0660"])
def test_a_non_ascii_digit_limit_is_invalid_not_a_crash(alice, limit):
    assert_error(alice.client.get("/v1/messages", {"limit": limit}), 400, "invalid_request")


def test_a_forged_cursor_with_the_wrong_id_type_is_invalid_not_a_crash(alice):
    import base64
    import json

    forged = base64.urlsafe_b64encode(
        json.dumps({"t": timezone.now().isoformat(), "id": "x"}).encode()
    ).decode()
    body = assert_error(alice.client.get("/v1/handles", {"cursor": forged}), 400, "invalid_request")
    assert "cursor" in body["fields"]


def test_a_handle_cannot_be_paced_at_zero(alice):
    handle = handle_services.handle_assign(account=alice.account, address="+14155550123")
    with pytest.raises(IntegrityError):
        Handle.objects.filter(pk=handle.pk).update(per_minute=0)
