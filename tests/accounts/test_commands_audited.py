"""Every operator command that changes something leaves an audit row as "command-line"."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from accounts.models import AuditEntry
from handles.models import Handle


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def audit_rows() -> list[tuple[str, str, str, str | None]]:
    return list(
        AuditEntry.objects.order_by("at", "id").values_list(
            "operator_name", "action", "object_type", "account_id"
        )
    )


def test_suspending_from_the_command_line_is_audited_with_its_reason(alice):
    run("set_account_active", alice.account.pk, "--inactive", "--reason", "chargeback")
    run("set_account_active", alice.account.pk, "--inactive")  # no change: no row
    assert audit_rows() == [
        ("command-line", "account.suspend", "accounts.account", alice.account.pk)
    ]
    assert AuditEntry.objects.get().reason == "chargeback"


def test_key_and_limit_commands_are_audited(alice):
    created = run("create_api_key", alice.account.pk)
    run("set_rate_limit", alice.account.pk, "600")
    run("revoke_api_key", created["key_id"])
    assert [(action, object_type) for _, action, object_type, _ in audit_rows()] == [
        ("api_key.create", "accounts.apikey"),
        ("account.rate_limit", "accounts.account"),
        ("api_key.revoke", "accounts.apikey"),
    ]
    limit = AuditEntry.objects.get(action="account.rate_limit")
    assert limit.changes == {"rate_limit_per_minute": [None, 600]}


def test_moving_a_handle_from_the_command_line_is_audited_under_the_account_it_left(alice, charlie):
    run("assign_handle", alice.account.pk, "+14155550123")
    run("assign_handle", charlie.account.pk, "+14155550123", "--move")
    run("attach_device", "+14155550123")
    handle = Handle.objects.get(address="+14155550123")
    assert audit_rows() == [
        ("command-line", "handle.assign", "handles.handle", alice.account.pk),
        ("command-line", "handle.move", "handles.handle", alice.account.pk),
        ("command-line", "device.attach", "handles.device", charlie.account.pk),
    ]
    moved = AuditEntry.objects.get(action="handle.move")
    assert moved.object_id == str(handle.pk)
    assert moved.changes == {"account_id": [alice.account.pk, charlie.account.pk]}
