"""Owners set the replies to STOP, START and HELP and the group rule on the team page."""

from __future__ import annotations

from accounts.models import Account, Membership
from tests.conftest import signed_in

SETTINGS = {
    "opt_out_reply": "Unsubscribed.",
    "opt_in_reply": "Welcome back.",
    "help_reply": "Acme alerts.",
    "group_opt_outs_allowed": "on",
}


def test_an_owner_sets_the_opt_out_replies_and_the_group_rule(alice):
    owner = signed_in(alice.account, Membership.Role.OWNER, "boss@example.com")
    url = f"/dashboard/{alice.account.pk}/settings/opt-outs/"
    response = owner.post(url, SETTINGS)
    assert response.status_code == 302
    account = Account.objects.get(pk=alice.account.pk)
    assert (account.opt_out_reply, account.opt_in_reply, account.help_reply) == (
        "Unsubscribed.",
        "Welcome back.",
        "Acme alerts.",
    )
    assert account.group_opt_outs_allowed is True
    page = owner.get(f"/dashboard/{alice.account.pk}/team/").content.decode()
    assert "Welcome back." in page


def test_a_developer_cannot_change_them(alice):
    developer = signed_in(alice.account, Membership.Role.DEVELOPER, "dev@example.com")
    response = developer.post(f"/dashboard/{alice.account.pk}/settings/opt-outs/", SETTINGS)
    assert response.status_code == 403
    assert Account.objects.get(pk=alice.account.pk).opt_out_reply == ""
