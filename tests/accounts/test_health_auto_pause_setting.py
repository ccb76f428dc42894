"""Owners choose whether a number in critical line health holds its sends to new contacts
(`health_auto_pause`, on by default) on the team page; others read it; operators edit it in
admin (docs/compliance.md, "Line health")."""

from __future__ import annotations

import re

from accounts.models import Account, Membership
from tests.conftest import signed_in
from tests.operator_support import operator_client

URL = "/dashboard/{}/settings/opt-outs/"


def test_auto_pause_is_on_by_default_and_shown_checked_to_the_owner(alice):
    owner = signed_in(alice.account, Membership.Role.OWNER, "boss@example.com")
    page = owner.get(f"/dashboard/{alice.account.pk}/team/").content.decode()
    (checkbox,) = re.findall(r'<input[^>]*name="health_auto_pause"[^>]*>', page)
    assert "checked" in checkbox


def test_an_owner_turns_auto_pause_off_and_on(alice):
    owner = signed_in(alice.account, Membership.Role.OWNER, "boss@example.com")
    assert owner.post(URL.format(alice.account.pk), {}).status_code == 302
    assert Account.objects.get(pk=alice.account.pk).health_auto_pause is False
    owner.post(URL.format(alice.account.pk), {"health_auto_pause": "on"})
    assert Account.objects.get(pk=alice.account.pk).health_auto_pause is True


def test_a_viewer_reads_it_but_cannot_change_it(alice):
    viewer = signed_in(alice.account, Membership.Role.VIEWER, "viewer@example.com")
    page = viewer.get(f"/dashboard/{alice.account.pk}/team/").content.decode()
    assert "New contacts of a critical number</dt><dd>held</dd>" in page
    assert viewer.post(URL.format(alice.account.pk), {}).status_code == 403
    assert Account.objects.get(pk=alice.account.pk).health_auto_pause is True


def test_operators_edit_it_on_the_accounts_admin_page(alice):
    page = operator_client().get(f"/admin/accounts/account/{alice.account.pk}/change/")
    assert 'name="health_auto_pause"' in page.content.decode()
