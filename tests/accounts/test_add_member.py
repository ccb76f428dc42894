"""`add_member` puts a person in an account and prints how they get in."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command
from django.test import Client

from accounts.models import Membership

PASSWORD = "a-long-Passphrase-42"


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_add_member_prints_the_member_and_a_one_time_link_to_choose_a_password(alice):
    result = run("add_member", alice.account.pk, "Dev@Example.com", "--role", "developer")
    assert set(result) == {"account_id", "email", "role", "user_id", "invite_url"}
    assert result["account_id"] == alice.account.pk
    assert result["email"] == "dev@example.com"
    assert result["role"] == "developer"
    assert "/dashboard/password/" in result["invite_url"]
    membership = Membership.objects.get(account=alice.account, user_id=result["user_id"])
    assert membership.role == "developer"


def test_add_member_with_a_password_prints_no_link_and_the_person_can_sign_in(alice):
    result = run("add_member", alice.account.pk, "dev@example.com", "--password", PASSWORD)
    assert result["invite_url"] is None
    response = Client().post(
        "/dashboard/login/", {"username": "dev@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
