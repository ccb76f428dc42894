from __future__ import annotations

from django.db import connection

from accounts import services
from accounts.models import ApiKey
from tests.conftest import assert_error, client_for


def test_the_account_endpoint_describes_the_callers_account(alice):
    response = alice.client.get("/v1/account")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == alice.account.id
    assert data["id"].startswith("acct_")
    assert data["name"] == "Alice Co"
    assert data["active"] is True
    assert data["rate_limit"] == 120
    assert data["created_at"].endswith("Z")
    assert len(data["created_at"]) == 24


def test_a_key_is_never_stored_in_plain_text(alice):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey")
        rows = cursor.fetchall()
    assert rows
    assert all(alice.key not in str(row) for row in rows)
    assert all(alice.key[8:] not in str(row) for row in rows)


def test_a_revoked_key_is_unauthorized(alice):
    api_key = ApiKey.objects.get(account=alice.account)
    services.api_key_revoke(api_key=api_key)
    assert_error(alice.client.get("/v1/account"), 401, "unauthorized")


def test_a_key_records_when_it_was_last_used(alice):
    assert ApiKey.objects.get(account=alice.account).last_used_at is None
    alice.client.get("/v1/account")
    assert ApiKey.objects.get(account=alice.account).last_used_at is not None


def test_creating_a_key_shows_its_secret_once(alice):
    response = alice.client.post("/v1/api-keys", {"name": "deploy"}, format="json")
    assert response.status_code == 201
    created = response.json()["data"]
    assert created["secret"].startswith("sk_live_")
    assert len(created["secret"]) >= 40
    assert created["prefix"] == created["secret"][:12]
    fetched = alice.client.get(f"/v1/api-keys/{created['id']}").json()["data"]
    assert "secret" not in fetched
    assert fetched["name"] == "deploy"
    assert client_for(created["secret"]).get("/v1/account").status_code == 200


def test_revoking_a_key_through_the_api_locks_it_out(alice):
    created = alice.client.post("/v1/api-keys", {}, format="json").json()["data"]
    response = alice.client.delete(f"/v1/api-keys/{created['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["revoked_at"] is not None
    assert_error(client_for(created["secret"]).get("/v1/account"), 401, "unauthorized")


def test_listing_keys_pages_newest_first_without_overlap(alice):
    for index in range(4):
        services.api_key_create(account=alice.account, name=f"k{index}")
    first = alice.client.get("/v1/api-keys?limit=2").json()
    assert first["has_more"] is True
    assert [k["name"] for k in first["data"]] == ["k3", "k2"]
    second = alice.client.get(f"/v1/api-keys?limit=2&cursor={first['next_cursor']}").json()
    assert [k["name"] for k in second["data"]] == ["k1", "k0"]
    third = alice.client.get(f"/v1/api-keys?limit=2&cursor={second['next_cursor']}").json()
    assert [k["name"] for k in third["data"]] == ["Default key"]
    assert third["has_more"] is False
    assert third["next_cursor"] is None


def test_a_page_is_stable_when_keys_are_created_meanwhile(alice):
    for index in range(3):
        services.api_key_create(account=alice.account, name=f"k{index}")
    first = alice.client.get("/v1/api-keys?limit=2").json()
    services.api_key_create(account=alice.account, name="newer")
    second = alice.client.get(f"/v1/api-keys?limit=2&cursor={first['next_cursor']}").json()
    assert [k["name"] for k in second["data"]] == ["k0", "Default key"]


def test_a_bad_cursor_is_invalid_request(alice):
    body = assert_error(alice.client.get("/v1/api-keys?cursor=garbage"), 400, "invalid_request")
    assert "cursor" in body["fields"]


def test_a_limit_out_of_range_is_invalid_request(alice):
    for limit in ("0", "101", "ten"):
        body = assert_error(alice.client.get(f"/v1/api-keys?limit={limit}"), 400, "invalid_request")
        assert "limit" in body["fields"]


def test_listing_never_shows_another_accounts_keys(alice, charlie):
    names = {k["id"] for k in alice.client.get("/v1/api-keys").json()["data"]}
    assert names == set(ApiKey.objects.filter(account=alice.account).values_list("id", flat=True))
