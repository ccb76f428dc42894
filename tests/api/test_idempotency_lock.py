"""The Idempotency-Key's lock, taken in the same Redis round trip as the key's budget
(accounts.ratelimit): held only by a request that runs its handler, and always let go."""

from __future__ import annotations

from django.core.cache import cache

from accounts import services
from accounts.idempotency import idempotency_lock_key
from messaging.models import Message
from tests.conftest import assert_error


def test_a_write_refused_before_its_handler_leaves_its_key_free(alice, alice_device):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-1"}
    body = {"to": "+14155550199", "text": "hi"}
    refused = alice.client.post("/v1/messages?bogus=1", body, format="json", **headers)
    retried = alice.client.post("/v1/messages", body, format="json", **headers)
    assert_error(refused, 400, "invalid_request")
    assert retried.status_code == 202
    assert Message.objects.count() == 1


def test_a_write_over_the_budget_takes_no_lock(alice, alice_device):
    services.account_set_rate_limit(account=alice.account, per_minute=1)
    assert alice.client.get("/v1/account").status_code == 200
    response = alice.client.post(
        "/v1/messages",
        {"to": "+14155550199", "text": "hi"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-2",
    )
    assert_error(response, 429, "rate_limited")
    assert not cache.has_key(idempotency_lock_key(account_id=alice.account.pk, key="order-2"))


def test_a_repeat_of_a_finished_write_is_replayed_while_its_lock_lingers(alice, alice_device):
    body = {"to": "+14155550199", "text": "hi"}
    first = alice.client.post("/v1/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="order-3")
    lock = idempotency_lock_key(account_id=alice.account.pk, key="order-3")
    lingering = cache.has_key(lock)
    repeat = alice.client.post("/v1/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="order-3")
    other = alice.client.post(
        "/v1/messages", {**body, "text": "bye"}, format="json", HTTP_IDEMPOTENCY_KEY="order-3"
    )
    assert first.status_code == 202
    assert lingering  # a stored response leaves its lock to expire (a round trip saved)
    assert repeat.status_code == 202
    assert repeat["Idempotent-Replayed"] == "true"
    assert repeat.content == first.content
    assert_error(other, 422, "idempotency_key_reused")
    assert Message.objects.count() == 1


def test_a_write_that_stored_nothing_lets_go_of_its_lock(alice, alice_device, monkeypatch):
    from messaging.services import sending

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sending, "message_send", explode)
    failed = alice.client.post(
        "/v1/messages",
        {"to": "+14155550199", "text": "hi"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-5",
    )
    assert failed.status_code == 500
    assert not cache.has_key(idempotency_lock_key(account_id=alice.account.pk, key="order-5"))


def test_a_method_the_path_does_not_take_leaves_the_key_free(alice, alice_device):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-4"}
    refused = alice.client.put("/v1/messages", {}, format="json", **headers)
    assert_error(refused, 405, "method_not_allowed")
    assert not cache.has_key(idempotency_lock_key(account_id=alice.account.pk, key="order-4"))
