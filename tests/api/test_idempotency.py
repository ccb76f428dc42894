"""Idempotency-Key: replays, conflicts, and work that runs once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey, IdempotencyRecord
from accounts.tasks import idempotency_records_purge
from tests.conftest import assert_error


def create_key(tenant, idempotency_key, name="ci"):
    return tenant.client.post(
        "/v1/api-keys", {"name": name}, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key
    )


def test_a_replay_returns_the_identical_response(alice):
    first = create_key(alice, "create-ci-key")
    second = create_key(alice, "create-ci-key")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["X-Request-Id"] == first["X-Request-Id"] == first.json()["request_id"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert ApiKey.objects.filter(account=alice.account, name="ci").count() == 1


def test_a_different_body_with_the_same_key_is_rejected(alice):
    create_key(alice, "k1", name="ci")
    assert_error(create_key(alice, "k1", name="other"), 422, "idempotency_key_reused")
    assert ApiKey.objects.filter(account=alice.account, name="other").count() == 0


def test_the_same_key_on_another_path_is_rejected(alice):
    created = create_key(alice, "k2").json()["data"]
    response = alice.client.delete(f"/v1/api-keys/{created['id']}", HTTP_IDEMPOTENCY_KEY="k2")
    assert_error(response, 422, "idempotency_key_reused")
    assert ApiKey.objects.get(pk=created["id"]).revoked_at is None


def test_keys_are_scoped_to_the_account(alice, charlie):
    create_key(alice, "shared-key")
    response = create_key(charlie, "shared-key")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_without_a_key_every_request_runs(alice):
    alice.client.post("/v1/api-keys", {"name": "twice"}, format="json")
    alice.client.post("/v1/api-keys", {"name": "twice"}, format="json")
    assert ApiKey.objects.filter(name="twice").count() == 2


def test_a_server_error_is_not_stored_and_the_retry_runs(alice, monkeypatch):
    real_create = services.api_key_create

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "api_key_create", explode)
    assert create_key(alice, "retry-me").status_code == 500
    monkeypatch.setattr(services, "api_key_create", real_create)
    retried = create_key(alice, "retry-me")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert ApiKey.objects.filter(name="ci").count() == 1


def test_a_client_error_is_stored_and_replayed(alice):
    first = create_key(alice, "bad-name", name="x" * 300)
    second = create_key(alice, "bad-name", name="x" * 300)
    assert first.status_code == 400
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"


def test_an_invalid_key_is_rejected(alice):
    response = create_key(alice, "x" * 256)
    body = assert_error(response, 400, "invalid_request")
    assert "Idempotency-Key" in body["fields"]
    assert ApiKey.objects.filter(name="ci").count() == 0


def test_a_stored_response_expires_after_24_hours(alice):
    create_key(alice, "old-key")
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        again = create_key(alice, "old-key")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert ApiKey.objects.filter(name="ci").count() == 2


def test_the_purge_task_forgets_records_older_than_24_hours(alice):
    create_key(alice, "to-purge")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        create_key(alice, "to-keep")
        summary = idempotency_records_purge()
    assert summary == {"deleted": 1}
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["to-keep"]


def test_a_request_while_the_first_is_running_is_in_use(alice, monkeypatch):
    seen = []

    def reenter(**kwargs):
        # The same key arrives again while the first request is still inside its work.
        seen.append(create_key(alice, "busy-key"))
        return real_create(**kwargs)

    real_create = services.api_key_create
    monkeypatch.setattr(services, "api_key_create", reenter)
    first = create_key(alice, "busy-key")
    assert first.status_code == 201
    assert_error(seen[0], 409, "idempotency_key_in_use")
    monkeypatch.setattr(services, "api_key_create", real_create)
    assert create_key(alice, "busy-key")["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_run_the_work_once(live_server):
    account, issued = services.account_create(name="Racer")
    url = f"{live_server.url}/v1/api-keys"
    headers = {"Authorization": f"Bearer {issued.secret}", "Idempotency-Key": "race-1"}

    def call(_: int) -> requests.Response:
        return requests.post(url, json={"name": "raced"}, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(call, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.content for r in created}) == 1
    assert ApiKey.objects.filter(account=account, name="raced").count() == 1
