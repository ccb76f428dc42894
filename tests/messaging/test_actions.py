"""Edit, reactions, unsend, typing, read: synchronous through a real (simulated) device."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from handles.models import Job
from messaging.models import Message
from tests.conftest import assert_error, send
from tests.messaging.conftest import wait_until
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def delivered(platform, **body):
    """A message of this platform's account that the simulator has delivered (and read)."""
    message_id = send(platform, **{"to": "+14155550199", "text": "hello", **body})["id"]
    wait_until(lambda: Message.objects.filter(pk=message_id, status="read").exists(), what="read")
    return message_id


@pytest.fixture
def fast_timeout(settings):
    settings.SWITCHBOARD_SYNC_ACTION_TIMEOUT = 1


def test_editing_a_sent_imessage_changes_it_and_keeps_the_history(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform)
    response = platform.client.patch(
        f"/v1/messages/{message_id}", {"text": "hello, edited"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["text"] == "hello, edited"
    assert data["edited_at"] is not None
    assert [(e["previous_text"], e["text"]) for e in data["edit_history"]] == [
        ("hello", "hello, edited")
    ]
    assert Event.objects.filter(type="message.edited").count() == 1


def test_editing_an_sms_is_a_conflict(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform, channel="sms")
    response = platform.client.patch(f"/v1/messages/{message_id}", {"text": "x"}, format="json")
    assert_error(response, 409, "conflict")
    assert not Job.objects.filter(kind="edit").exists()


def test_editing_an_inbound_message_is_a_conflict(platform):
    from messaging.services.inbound import inbound_message_record

    handle, _ = platform.handle("+14155550123")
    inbound = inbound_message_record(
        handle=handle,
        upstream_id="in-1",
        sender="+14155550199",
        participants=[],
        chat_id=None,
        channel="imessage",
        text="hi",
        at=timezone.now(),
    )
    assert inbound is not None
    response = platform.client.patch(f"/v1/messages/{inbound.id}", {"text": "x"}, format="json")
    assert_error(response, 409, "conflict")


def test_a_reaction_is_added_and_removed(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform)
    added = platform.client.post(
        f"/v1/messages/{message_id}/reactions", {"type": "love"}, format="json"
    )
    assert added.status_code == 200, added.content
    assert [(r["type"], r["from_handle"]) for r in added.json()["data"]["reactions"]] == [
        ("love", "+14155550123")
    ]
    removed = platform.client.delete(f"/v1/messages/{message_id}/reactions/love")
    assert removed.status_code == 200
    assert removed.json()["data"]["reactions"] == []
    assert list(
        Event.objects.filter(type__startswith="reaction.")
        .order_by("created_at")
        .values_list("type", flat=True)
    ) == ["reaction.added", "reaction.removed"]


def test_reacting_before_delivery_is_a_conflict(platform):
    platform.handle("+14155550123")
    send_at = (timezone.now() + timedelta(hours=1)).isoformat()
    message_id = platform.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "later", "send_at": send_at}, format="json"
    ).json()["data"]["id"]
    response = platform.client.post(
        f"/v1/messages/{message_id}/reactions", {"type": "like"}, format="json"
    )
    assert_error(response, 409, "conflict")


def test_reacting_to_an_sms_is_a_conflict(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform, channel="sms")
    response = platform.client.post(
        f"/v1/messages/{message_id}/reactions", {"type": "like"}, format="json"
    )
    assert_error(response, 409, "conflict")


def test_an_unknown_reaction_is_invalid(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform)
    response = platform.client.post(
        f"/v1/messages/{message_id}/reactions", {"type": "wow"}, format="json"
    )
    assert_error(response, 400, "invalid_request")


def test_unsend_within_two_minutes(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform)
    response = platform.client.post(f"/v1/messages/{message_id}/unsend")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["unsent_at"] is not None
    assert Event.objects.filter(type="message.unsent").count() == 1


def test_unsend_after_two_minutes_is_a_conflict(platform):
    platform.handle("+14155550123")
    message_id = delivered(platform)
    with time_machine.travel(timezone.now() + timedelta(minutes=2, seconds=5)):
        response = platform.client.post(f"/v1/messages/{message_id}/unsend")
    assert_error(response, 409, "conflict")
    assert not Job.objects.filter(kind="unsend").exists()


def test_typing_and_read_go_through_the_device(platform):
    _, device = platform.handle("+14155550123")
    message_id = delivered(platform)
    chat_id = Message.objects.get(pk=message_id).chat_id
    assert platform.client.post(f"/v1/chats/{chat_id}/typing").status_code == 200
    assert platform.client.post(f"/v1/chats/{chat_id}/read").status_code == 200
    kinds = [job.kind for job in device.received]
    assert kinds[-2:] == ["typing", "read"]


def test_an_offline_device_answers_503_at_once_and_leaves_no_job(platform):
    _, device = platform.handle("+14155550123")
    message_id = delivered(platform)
    device.go_offline()
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        started = time.monotonic()
        response = platform.client.patch(f"/v1/messages/{message_id}", {"text": "x"}, format="json")
        elapsed = time.monotonic() - started
    assert_error(response, 503, "device_offline")
    assert elapsed < 0.25
    assert not Job.objects.filter(kind="edit").exists()


def test_a_device_failure_is_502_with_its_reason(platform):
    platform.handle("+14155550123", fail_kinds=frozenset({"edit"}))
    message_id = delivered(platform)
    response = platform.client.patch(f"/v1/messages/{message_id}", {"text": "x"}, format="json")
    body = assert_error(response, 502, "edit_failed")
    assert "edit refused" in body["message"]
    assert Message.objects.get(pk=message_id).text == "hello"


def test_a_stalled_device_is_502_after_the_timeout_and_the_job_never_runs(platform, fast_timeout):
    _, device = platform.handle("+14155550123", stall_kinds=frozenset({"edit"}), stall_seconds=2.5)
    message_id = delivered(platform)
    response = platform.client.patch(f"/v1/messages/{message_id}", {"text": "late"}, format="json")
    assert_error(response, 502, "edit_failed")
    job = Job.objects.get(kind="edit")
    assert job.status == "withdrawn"
    time.sleep(3)  # the stalled device answers now: too late
    job.refresh_from_db()
    assert job.status == "withdrawn"
    assert Message.objects.get(pk=message_id).text == "hello"
    assert not Event.objects.filter(type="message.edited").exists()
    assert [j.kind for j in device.received].count("edit") == 1


def test_a_repeated_action_with_an_idempotency_key_is_replayed(platform):
    _, device = platform.handle("+14155550123")
    message_id = delivered(platform)
    path = f"/v1/messages/{message_id}/reactions"
    first = platform.client.post(path, {"type": "laugh"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    second = platform.client.post(path, {"type": "laugh"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert [j.kind for j in device.received].count("react") == 1
