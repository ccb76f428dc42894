"""Idempotency-Key: replays, conflicts, and work that runs once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import time_machine
from django.core.cache import cache
from django.utils import timezone

from accounts import services as account_services
from accounts.idempotency import idempotency_lock_key
from accounts.models import ApiKey, IdempotencyRecord
from accounts.tasks import idempotency_records_purge
from messaging.models import Message
from messaging.services import sending
from tests.conftest import assert_error, attach_device, post_message


@pytest.fixture(autouse=True)
def _sender(request):
    """Alice (and Charlie, where a test has him) can send: each has an online handle."""
    if "alice" in request.fixturenames:
        request.getfixturevalue("alice_device")
    if "charlie" in request.fixturenames:
        request.getfixturevalue("charlie_device")


def send(tenant, idempotency_key, text="ci"):
    return post_message(tenant, idempotency_key=idempotency_key, to="+14155550199", text=text)


def test_a_replay_returns_the_identical_response(alice):
    first = send(alice, "create-ci-key")
    second = send(alice, "create-ci-key")
    assert first.status_code == second.status_code == 202
    assert second.content == first.content
    assert second["X-Request-Id"] == first["X-Request-Id"] == first.json()["request_id"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.filter(account=alice.account, text="ci").count() == 1


def test_a_different_body_with_the_same_key_is_rejected(alice):
    send(alice, "k1", text="ci")
    assert_error(send(alice, "k1", text="other"), 422, "idempotency_key_reused")
    assert Message.objects.filter(account=alice.account, text="other").count() == 0


def test_the_same_key_on_another_path_is_rejected(alice):
    created = send(alice, "k2").json()["data"]
    response = alice.client.post(f"/v1/messages/{created['id']}/cancel", HTTP_IDEMPOTENCY_KEY="k2")
    assert_error(response, 422, "idempotency_key_reused")
    assert Message.objects.get(pk=created["id"]).status == "queued"


def test_keys_are_scoped_to_the_account(alice, charlie):
    send(alice, "shared-key")
    response = send(charlie, "shared-key")
    assert response.status_code == 202
    assert "Idempotent-Replayed" not in response


def test_without_a_key_every_request_runs(alice):
    for _ in range(2):
        alice.client.post("/v1/messages", {"to": "+14155550199", "text": "twice"}, format="json")
    assert Message.objects.filter(text="twice").count() == 2


def test_a_server_error_is_not_stored_and_the_retry_runs(alice, monkeypatch):
    real_send = sending.message_send

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sending, "message_send", explode)
    assert send(alice, "retry-me").status_code == 500
    monkeypatch.setattr(sending, "message_send", real_send)
    retried = send(alice, "retry-me")
    assert retried.status_code == 202
    assert "Idempotent-Replayed" not in retried
    assert Message.objects.filter(text="ci").count() == 1


def test_a_client_error_is_stored_and_replayed(alice):
    first = send(alice, "bad-name", text="x" * 10_001)
    second = send(alice, "bad-name", text="x" * 10_001)
    assert first.status_code == 400
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"


def test_an_invalid_key_is_rejected(alice):
    response = send(alice, "x" * 256)
    body = assert_error(response, 400, "invalid_request")
    assert "Idempotency-Key" in body["fields"]
    assert Message.objects.count() == 0


def test_a_stored_response_expires_after_24_hours(alice):
    send(alice, "old-key")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        again = send(alice, "old-key")
    assert again.status_code == 202
    assert "Idempotent-Replayed" not in again
    assert Message.objects.filter(text="ci").count() == 2


def test_the_purge_task_forgets_records_older_than_24_hours(alice):
    send(alice, "to-purge")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        send(alice, "to-keep")
        summary = idempotency_records_purge()
    assert summary == {"deleted": 1}
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["to-keep"]


def test_a_repeat_after_its_lock_expired_is_replayed_and_sends_nothing(alice):
    first = send(alice, "late-retry")
    cache.delete(idempotency_lock_key(account_id=alice.account.pk, key="late-retry"))
    repeat = send(alice, "late-retry")
    assert repeat.status_code == 202
    assert repeat["Idempotent-Replayed"] == "true"
    assert repeat.content == first.content
    assert Message.objects.filter(text="ci").count() == 1


def test_another_request_with_a_key_whose_lock_expired_is_rejected_and_sends_nothing(alice):
    send(alice, "late-other")
    cache.delete(idempotency_lock_key(account_id=alice.account.pk, key="late-other"))
    assert_error(send(alice, "late-other", text="other"), 422, "idempotency_key_reused")
    assert Message.objects.filter(text="other").count() == 0
    assert IdempotencyRecord.objects.filter(key="late-other").count() == 1


def test_a_key_reused_after_24_hours_stores_the_new_response_for_its_replays(alice):
    send(alice, "reused-key")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        again = send(alice, "reused-key", text="second")
        replay = send(alice, "reused-key", text="second")
    assert again.status_code == 202
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == again.content
    assert IdempotencyRecord.objects.filter(key="reused-key").count() == 1
    assert Message.objects.filter(text="second").count() == 1


def test_a_request_while_the_first_is_running_is_in_use(alice, monkeypatch):
    seen = []

    def reenter(**kwargs):
        # The same key arrives again while the first request is still inside its work.
        seen.append(send(alice, "busy-key"))
        return real_send(**kwargs)

    real_send = sending.message_send
    monkeypatch.setattr(sending, "message_send", reenter)
    first = send(alice, "busy-key")
    assert first.status_code == 202
    assert_error(seen[0], 409, "idempotency_key_in_use")
    monkeypatch.setattr(sending, "message_send", real_send)
    assert send(alice, "busy-key")["Idempotent-Replayed"] == "true"


def test_a_secret_shown_once_is_never_stored_for_a_replay(alice):
    first = alice.client.post(
        "/v1/api-keys", {"name": "k"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    secret = first.json()["data"]["secret"]
    replay = alice.client.post(
        "/v1/api-keys", {"name": "k"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["data"]["secret"] is None
    assert replay.json()["data"]["id"] == first.json()["data"]["id"]
    assert all(secret not in bytes(r.body).decode() for r in IdempotencyRecord.objects.all())
    assert ApiKey.objects.filter(name="k").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_run_the_work_once(live_server):
    account, issued = account_services.account_create(name="Racer")
    attach_device(account, "+14155550123")
    url = f"{live_server.url}/v1/messages"
    headers = {"Authorization": f"Bearer {issued.secret}", "Idempotency-Key": "race-1"}

    def call(_: int) -> requests.Response:
        return requests.post(
            url, json={"to": "+14155550199", "text": "raced"}, headers=headers, timeout=30
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(call, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {202, 409}
    created = [r for r in responses if r.status_code == 202]
    assert len({r.content for r in created}) == 1
    assert Message.objects.filter(account=account, text="raced").count() == 1
