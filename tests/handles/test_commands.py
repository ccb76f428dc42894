from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from handles.models import Device, Handle
from handles.selectors import device_get_by_token


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_assign_handle_prints_the_normalized_handle(alice):
    result = run(
        "assign_handle",
        alice.account.id,
        " +14155550123 ",
        "--channels",
        "imessage,sms,whatsapp",
        "--per-minute",
        "12",
        "--burst",
        "2",
    )
    assert result == {"handle": "+14155550123", "account_id": alice.account.id}
    handle = Handle.objects.get(address="+14155550123")
    assert (handle.per_minute, handle.burst) == (12, 2)
    assert handle.channels == ["imessage", "sms", "whatsapp"]


def test_assign_handle_sets_the_new_contact_budget_and_leaves_it_when_not_given(alice):
    run("assign_handle", alice.account.id, "+14155550123", "--new-contact-budget", "5")
    assert Handle.objects.get().new_contact_budget == 5
    run("assign_handle", alice.account.id, "+14155550123", "--per-minute", "30")
    assert Handle.objects.get().new_contact_budget == 5
    run("assign_handle", alice.account.id, "+14155550123", "--new-contact-budget", "unlimited")
    assert Handle.objects.get().new_contact_budget is None


def test_a_new_handle_gets_the_default_new_contact_budget(alice):
    run("assign_handle", alice.account.id, "+14155550123")
    assert Handle.objects.get().new_contact_budget == 50


@pytest.mark.parametrize("bad", ["-1", "many", ""])
def test_assign_handle_refuses_a_bad_new_contact_budget_and_writes_nothing(alice, bad):
    with pytest.raises(CommandError):
        call_command(
            "assign_handle",
            alice.account.id,
            "+14155550123",
            "--new-contact-budget",
            bad,
            stdout=StringIO(),
        )
    assert Handle.objects.count() == 0


@pytest.mark.parametrize(
    "bad", ["+1", "12345", "+1415555012a", "not-an-email", "a@b", "x" * 300, ""]
)
def test_assign_handle_refuses_bad_handles_and_writes_nothing(alice, bad):
    with pytest.raises(CommandError, match="invalid_handle"):
        call_command("assign_handle", alice.account.id, bad, stdout=StringIO())
    assert Handle.objects.count() == 0


def test_assign_handle_refuses_a_handle_of_another_account(alice, charlie):
    run("assign_handle", charlie.account.id, "+14155550123")
    with pytest.raises(CommandError, match="another account"):
        call_command("assign_handle", alice.account.id, "+14155550123", stdout=StringIO())
    assert Handle.objects.get().account_id == charlie.account.id


def test_an_email_handle_sends_only_imessage(alice):
    with pytest.raises(CommandError):
        call_command(
            "assign_handle",
            alice.account.id,
            "me@example.com",
            "--channels",
            "sms",
            stdout=StringIO(),
        )


def test_attach_device_prints_a_working_token_and_retires_the_previous(alice):
    run("assign_handle", alice.account.id, "+14155550123")
    first = run("attach_device", "+14155550123")
    second = run("attach_device", "+14155550123")
    assert set(second) == {"device_id", "device_token"}
    assert device_get_by_token(token=first["device_token"]) is None
    current = device_get_by_token(token=second["device_token"])
    assert current is not None
    assert current.id == second["device_id"]
    assert Device.objects.filter(revoked_at__isnull=True).count() == 1


def test_attach_device_to_an_unknown_handle_is_an_error(db):
    with pytest.raises(CommandError):
        call_command("attach_device", "+14155550123", stdout=StringIO())
