"""The operator CLI prints exactly one JSON object and does what it says."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account, ApiKey, Membership
from accounts.selectors import api_key_get_by_secret


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_create_account_prints_its_id_and_a_working_key():
    result = run("create_account", "Acme", "--owner-email", "Owner@Example.com")
    assert set(result) == {"account_id", "api_key"}
    api_key = api_key_get_by_secret(secret=result["api_key"])
    assert api_key is not None
    assert api_key.account_id == result["account_id"]
    membership = Membership.objects.get(account_id=result["account_id"])
    assert membership.role == "owner"
    assert membership.user.email == "owner@example.com"


@pytest.mark.django_db
def test_create_account_inactive():
    result = run("create_account", "Dormant", "--inactive")
    assert Account.objects.get(pk=result["account_id"]).is_active is False


@pytest.mark.django_db
def test_create_api_key_prints_a_new_key():
    account_id = run("create_account", "Acme")["account_id"]
    result = run("create_api_key", account_id)
    assert set(result) == {"key_id", "api_key"}
    assert ApiKey.objects.get(pk=result["key_id"]).account_id == account_id


@pytest.mark.django_db
def test_revoke_api_key():
    account_id = run("create_account", "Acme")["account_id"]
    key = run("create_api_key", account_id)
    assert run("revoke_api_key", key["key_id"]) == {"key_id": key["key_id"], "revoked": True}
    assert api_key_get_by_secret(secret=key["api_key"]) is None


@pytest.mark.django_db
def test_set_account_active_both_ways():
    account_id = run("create_account", "Acme")["account_id"]
    assert run("set_account_active", account_id, "--inactive") == {
        "account_id": account_id,
        "active": False,
    }
    assert run("set_account_active", account_id, "--active")["active"] is True
    assert Account.objects.get(pk=account_id).is_active is True


@pytest.mark.django_db
def test_set_rate_limit_for_account_and_key():
    account_id = run("create_account", "Acme")["account_id"]
    assert run("set_rate_limit", account_id, "600") == {
        "account_id": account_id,
        "key_id": None,
        "per_minute": 600,
    }
    key_id = ApiKey.objects.get(account_id=account_id).id
    assert run("set_rate_limit", account_id, "30", "--key", key_id)["key_id"] == key_id
    assert Account.objects.get(pk=account_id).rate_limit_per_minute == 600
    assert ApiKey.objects.get(pk=key_id).rate_limit_per_minute == 30


@pytest.mark.django_db
def test_set_rate_limit_refuses_another_accounts_key():
    first = run("create_account", "A")["account_id"]
    second = run("create_account", "B")["account_id"]
    key_id = ApiKey.objects.get(account_id=second).id
    with pytest.raises(CommandError):
        call_command("set_rate_limit", first, "10", "--key", key_id, stdout=StringIO())
    assert ApiKey.objects.get(pk=key_id).rate_limit_per_minute is None


@pytest.mark.django_db
def test_unknown_account_is_an_error():
    with pytest.raises(CommandError):
        call_command("create_api_key", "acct_nope", stdout=StringIO())
