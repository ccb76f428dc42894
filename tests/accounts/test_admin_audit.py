"""Accounts in admin (suspend with a reason, usage, members) and the audit log of it all."""

from __future__ import annotations

import json
import re
from datetime import UTC

from django.utils import timezone

from accounts import services
from accounts.models import Account, ApiKey, AuditEntry
from handles import services as handle_services
from messaging.models import DailyCount
from tests.conftest import signed_in
from tests.operator_support import result_messages, run_action

ACCOUNTS = "/admin/accounts/account/"
AUDIT = "/admin/accounts/auditentry/"
NO_MEMBERS = {
    "memberships-TOTAL_FORMS": "0",
    "memberships-INITIAL_FORMS": "0",
    "memberships-MIN_NUM_FORMS": "0",
    "memberships-MAX_NUM_FORMS": "1000",
}


def cell(html: str, column: str) -> list[str]:
    """The text of every cell of `column` in a changelist's HTML."""
    return re.findall(rf'<td class="field-{column}[^"]*">(.*?)</td>', html)


def test_a_signed_in_user_who_is_not_staff_gets_the_admin_login_instead(alice):
    member = signed_in(alice.account, "owner")
    for page in ("/admin/", ACCOUNTS, AUDIT, "/admin/handles/handle/"):
        response = member.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_adding_an_account_in_admin_is_audited_with_its_fields(operator):
    response = operator.post(f"{ACCOUNTS}add/", {"name": "Acme", **NO_MEMBERS})
    assert response.status_code == 302
    account = Account.objects.get(name="Acme")
    entry = AuditEntry.objects.get()
    assert (entry.operator_name, entry.action, entry.object_id, entry.account_id) == (
        "operator",
        "add",
        account.pk,
        account.pk,
    )
    assert entry.changes["name"] == [None, "Acme"]


def test_changing_an_account_in_admin_records_the_fields_before_and_after(operator):
    account, _ = services.account_create(name="Acme")
    response = operator.post(
        f"{ACCOUNTS}{account.pk}/change/",
        # As a browser posts the form: a checkbox left ticked is sent.
        {
            "name": "Acme Inc",
            "rate_limit_per_minute": "600",
            "health_auto_pause": "on",
            **NO_MEMBERS,
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_type, entry.object_repr) == (
        "change",
        "accounts.account",
        f"Acme Inc ({account.pk})",
    )
    assert entry.changes == {"name": ["Acme", "Acme Inc"], "rate_limit_per_minute": [None, 600]}


def test_deleting_an_account_in_admin_is_audited(operator):
    account, _ = services.account_create(name="Gone")
    response = operator.post(f"{ACCOUNTS}{account.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.account_id, entry.object_repr) == (
        "delete",
        account.pk,
        account.pk,
        f"Gone ({account.pk})",
    )


def test_suspending_accounts_asks_for_a_reason_before_anything_changes(operator, alice):
    response = run_action(operator, ACCOUNTS, "suspend", [alice.account.pk])
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    assert "Alice Co" in response.content.decode()
    assert Account.objects.get(pk=alice.account.pk).is_active is True
    assert not AuditEntry.objects.exists()


def test_suspending_with_a_reason_suspends_the_account_and_audits_why(operator, alice):
    response = run_action(
        operator, ACCOUNTS, "suspend", [alice.account.pk], confirm="yes", reason="unpaid invoice"
    )
    assert response.status_code == 302
    assert alice.client.get("/v1/handles").status_code == 403
    entry = AuditEntry.objects.get()
    assert (entry.operator_name, entry.action, entry.account_id, entry.reason) == (
        "operator",
        "account.suspend",
        alice.account.pk,
        "unpaid invoice",
    )
    assert entry.changes == {"is_active": [True, False]}
    assert result_messages(operator.get(ACCOUNTS)) == ["1 account(s) suspended."]


def test_activating_a_suspended_account_is_audited_with_its_reason(operator, alice):
    services.account_set_active(account=alice.account, active=False)
    run_action(operator, ACCOUNTS, "activate", [alice.account.pk], confirm="yes", reason="paid")
    assert Account.objects.get(pk=alice.account.pk).is_active is True
    assert list(AuditEntry.objects.values_list("action", "reason")) == [
        ("account.activate", "paid")
    ]


def test_the_account_list_shows_todays_messages_and_api_calls(operator, alice, charlie):
    for _ in range(3):
        assert alice.client.get("/v1/handles").status_code == 200
    handle = handle_services.handle_assign(account=charlie.account, address="+14155550100")
    DailyCount.objects.create(
        account=charlie.account, handle=handle, day=timezone.now().astimezone(UTC).date(), sent=4
    )
    html = operator.get(ACCOUNTS).content.decode()
    names = cell(html, "name")
    usage = zip(cell(html, "messages_today"), cell(html, "api_calls_today"), strict=True)
    assert dict(zip(names, usage, strict=True)) == {
        "Alice Co": ("0", "3"),
        "Charlie Ltd": ("4", "0"),
    }


def test_the_account_page_lists_its_members_and_their_roles(operator, alice):
    signed_in(alice.account, "developer", "dev@alice.test")
    html = operator.get(f"{ACCOUNTS}{alice.account.pk}/change/").content.decode()
    assert "alice@example.com" in html
    assert "dev@alice.test" in html
    assert re.search(r'<option value="developer" selected>', html)


def test_revoking_a_key_in_admin_is_audited(operator, alice):
    key = ApiKey.objects.get(account=alice.account)
    run_action(operator, "/admin/accounts/apikey/", "revoke", [key.pk])
    assert alice.client.get("/v1/handles").status_code == 401
    assert list(AuditEntry.objects.values_list("action", "object_id", "account_id")) == [
        ("api_key.revoke", key.pk, alice.account.pk)
    ]


def test_the_audit_log_cannot_be_written_from_admin_even_by_a_superuser(operator, alice):
    entry = services.audit_record(operator=None, action="handle.pause", obj=alice.account)
    assert operator.get(f"{AUDIT}add/").status_code == 403
    assert operator.post(f"{AUDIT}{entry.pk}/change/", {"reason": "edited"}).status_code == 403
    assert operator.post(f"{AUDIT}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    response = run_action(operator, AUDIT, "delete_selected", [entry.pk], post="yes")
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""
    assert response.status_code in (200, 302)
    assert operator.get(AUDIT).status_code == 200


def test_the_audit_log_filters_by_operator_account_and_action(operator, alice, charlie):
    services.audit_record(operator=None, action="handle.pause", obj=alice.account)
    run_action(operator, ACCOUNTS, "suspend", [charlie.account.pk], confirm="yes", reason="r")

    def shown(query: str) -> list[str]:
        return cell(operator.get(f"{AUDIT}?{query}").content.decode(), "action")

    assert shown("operator=command-line") == ["handle.pause"]
    assert shown("operator=operator") == ["account.suspend"]
    assert shown(f"account={alice.account.pk}") == ["handle.pause"]
    assert shown("action=account.suspend") == ["account.suspend"]
    assert sorted(shown("")) == ["account.suspend", "handle.pause"]


def test_adding_a_user_in_admin_is_audited_without_the_password(operator):
    password = "S3cret-horse-battery-99"
    response = operator.post(
        "/admin/auth/user/add/",
        {
            "username": "newop",
            "password1": password,
            "password2": password,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.operator_name, entry.action, entry.object_type, entry.object_repr) == (
        "operator",
        "add",
        "auth.user",
        "newop",
    )
    assert entry.changes["username"] == [None, "newop"]
    assert password not in json.dumps(entry.changes)


def test_an_audit_row_links_to_its_objects_admin_page(operator, alice):
    services.audit_record(operator=None, action="account.suspend", obj=alice.account)
    html = operator.get(AUDIT).content.decode()
    assert f'<a href="/admin/accounts/account/{alice.account.pk}/change/">Alice Co' in html
