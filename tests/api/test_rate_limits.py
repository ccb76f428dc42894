"""Per-key request budgets: exact, shared, announced in headers."""

from __future__ import annotations

import re
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests
import time_machine

from accounts import selectors, services
from tests.conftest import assert_error, client_for


@contextmanager
def fresh_window(*key_ids: str):
    """Travel to the first second of the first key's rate-limit window (no boundary flakes)."""
    offset = zlib.crc32(key_ids[0].encode()) % 60
    start = (int(time.time()) // 60 + 60) * 60 + offset + 1
    with time_machine.travel(start, tick=True):
        yield


def api_key_id(secret: str) -> str:
    api_key = selectors.api_key_get_by_secret(secret=secret)
    assert api_key is not None
    return api_key.id


def test_the_121st_request_in_a_minute_is_rate_limited(alice):
    with fresh_window(api_key_id(alice.key)):
        statuses = [alice.client.get("/v1/account").status_code for _ in range(120)]
        response = alice.client.get("/v1/account")
    assert statuses == [200] * 120
    assert_error(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response["RateLimit"] == f'"default";r=0;t={retry_after}'


def test_every_authenticated_response_announces_the_budget(alice):
    with fresh_window(api_key_id(alice.key)):
        first = alice.client.get("/v1/account")
        now = int(time.time())
        second = alice.client.get("/v1/account?bogus=1")
    assert first["RateLimit-Policy"] == '"default";q=120;w=60'
    assert re.fullmatch(r'"default";r=119;t=\d+', first["RateLimit"])
    assert first["X-RateLimit-Limit"] == "120"
    assert first["X-RateLimit-Remaining"] == "119"
    reset_in = int(first["RateLimit"].rsplit("t=", 1)[1])
    assert abs(int(first["X-RateLimit-Reset"]) - (now + reset_in)) <= 2
    assert second.status_code == 400
    assert second["X-RateLimit-Remaining"] == "118"


def test_a_second_key_of_the_same_account_has_its_own_budget(alice):
    services.account_set_rate_limit(account=alice.account, per_minute=3)
    other_client = client_for(services.api_key_create(account=alice.account).secret)
    with fresh_window(api_key_id(alice.key)):
        for _ in range(3):
            assert alice.client.get("/v1/account").status_code == 200
        assert alice.client.get("/v1/account").status_code == 429
        assert other_client.get("/v1/account").status_code == 200


def test_an_account_override_changes_the_budget(alice):
    services.account_set_rate_limit(account=alice.account, per_minute=5)
    with fresh_window(api_key_id(alice.key)):
        statuses = [alice.client.get("/v1/account").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_key_override_wins_over_the_account_override(alice):
    services.account_set_rate_limit(account=alice.account, per_minute=5)
    api_key = selectors.api_key_get_by_secret(secret=alice.key)
    assert api_key is not None
    services.api_key_set_rate_limit(api_key=api_key, per_minute=2)
    with fresh_window(api_key.id):
        statuses = [alice.client.get("/v1/account").status_code for _ in range(3)]
        limited = alice.client.get("/v1/account")
    assert statuses == [200, 200, 429]
    assert limited["RateLimit-Policy"] == '"default";q=2;w=60'


def test_unauthenticated_responses_carry_no_budget_headers(anonymous, db):
    response = anonymous.get("/v1/account")
    assert response.status_code == 401
    assert "RateLimit" not in response


def test_failed_authentication_is_limited_per_client_address(alice, anonymous, settings):
    settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE = 5
    bad = {"HTTP_AUTHORIZATION": "Bearer sk_live_wrong", "REMOTE_ADDR": "203.0.113.9"}
    statuses = [anonymous.get("/v1/account", **bad).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    blocked = anonymous.get(
        "/v1/account", HTTP_AUTHORIZATION=f"Bearer {alice.key}", REMOTE_ADDR="203.0.113.9"
    )
    assert_error(blocked, 429, "rate_limited")
    assert int(blocked["Retry-After"]) >= 1
    other_address = anonymous.get(
        "/v1/account", HTTP_AUTHORIZATION=f"Bearer {alice.key}", REMOTE_ADDR="198.51.100.7"
    )
    assert other_address.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_130_concurrent_requests_let_exactly_120_through(live_server):
    _, issued = services.account_create(name="Busy")
    url = f"{live_server.url}/v1/account"
    headers = {"Authorization": f"Bearer {issued.secret}"}

    def call(_: int) -> int:
        with requests.Session() as session:
            return session.get(url, headers=headers, timeout=30).status_code

    with fresh_window(issued.api_key.id), ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, range(130)))
    assert statuses.count(200) == 120
    assert statuses.count(429) == 10
