"""A process remembers the API keys it authenticated for SWITCHBOARD_API_KEY_CACHE_SECONDS
(docs/api.md, "Authentication"): a change made elsewhere reaches it within that window, a
change made through it at once, and a remembered key still obeys every limit."""

from __future__ import annotations

import time

import time_machine
from django.utils import timezone

from accounts import services
from accounts.models import Account, ApiKey
from tests.conftest import assert_error


def revoke_elsewhere(account: Account) -> None:
    """Revoke the account's keys as another web process would: not through this process."""
    ApiKey.objects.filter(account=account).update(revoked_at=timezone.now())


def test_a_key_revoked_by_another_process_stops_working_within_the_window(alice, settings):
    settings.SWITCHBOARD_API_KEY_CACHE_SECONDS = 5
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert alice.client.get("/v1/account").status_code == 200
        revoke_elsewhere(alice.account)
        traveller.shift(4)
        remembered = alice.client.get("/v1/account")
        traveller.shift(2)
        forgotten = alice.client.get("/v1/account")
    assert remembered.status_code == 200
    assert_error(forgotten, 401, "unauthorized")


def test_a_key_revoked_through_this_process_stops_working_at_once(alice, settings):
    settings.SWITCHBOARD_API_KEY_CACHE_SECONDS = 60
    assert alice.client.get("/v1/account").status_code == 200
    services.api_key_revoke(api_key=ApiKey.objects.get(account=alice.account))
    assert_error(alice.client.get("/v1/account"), 401, "unauthorized")


def test_an_account_deactivated_by_another_process_is_forbidden_within_the_window(alice, settings):
    settings.SWITCHBOARD_API_KEY_CACHE_SECONDS = 5
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert alice.client.get("/v1/account").status_code == 200
        Account.objects.filter(pk=alice.account.pk).update(is_active=False)
        traveller.shift(6)
        response = alice.client.get("/v1/account")
    assert_error(response, 403, "forbidden")


def test_a_window_of_zero_remembers_nothing(alice, settings):
    settings.SWITCHBOARD_API_KEY_CACHE_SECONDS = 0
    assert alice.client.get("/v1/account").status_code == 200
    revoke_elsewhere(alice.account)
    assert_error(alice.client.get("/v1/account"), 401, "unauthorized")


def test_a_clock_moved_back_does_not_stretch_the_window(alice, settings):
    settings.SWITCHBOARD_API_KEY_CACHE_SECONDS = 5
    with time_machine.travel(time.time(), tick=False) as traveller:
        assert alice.client.get("/v1/account").status_code == 200
        revoke_elsewhere(alice.account)
        traveller.shift(-60)
        response = alice.client.get("/v1/account")
    assert_error(response, 401, "unauthorized")


def test_an_address_over_its_failures_is_refused_even_with_a_remembered_key(
    alice, anonymous, settings
):
    settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE = 3
    address = {"REMOTE_ADDR": "203.0.113.50"}
    good = {"HTTP_AUTHORIZATION": f"Bearer {alice.key}", **address}
    assert anonymous.get("/v1/account", **good).status_code == 200  # now remembered
    bad = {"HTTP_AUTHORIZATION": "Bearer sk_live_wrong", **address}
    assert [anonymous.get("/v1/account", **bad).status_code for _ in range(3)] == [401] * 3
    blocked = anonymous.post("/v1/api-keys", {"name": "x"}, format="json", **good)
    assert_error(blocked, 429, "rate_limited")
    assert ApiKey.objects.filter(account=alice.account).count() == 1
