"""A person in several accounts picks one in the header; each URL names exactly one."""

from __future__ import annotations

from django.test import Client

from accounts import services


def test_the_picker_opens_another_of_your_accounts(alice, charlie):
    for tenant in (alice, charlie):
        added = services.member_add(account=tenant.account, email="both@x.test", role="viewer")
    client = Client()
    client.force_login(added.membership.user)
    response = client.get("/dashboard/switch/", {"account": charlie.account.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/{charlie.account.pk}/"


def test_the_picker_refuses_an_account_that_is_not_yours(alice, charlie):
    added = services.member_add(account=alice.account, email="one@x.test", role="owner")
    client = Client()
    client.force_login(added.membership.user)
    assert client.get("/dashboard/switch/", {"account": charlie.account.pk}).status_code == 404


def test_the_dashboard_opens_the_account_you_last_used(alice, charlie):
    for tenant in (alice, charlie):
        added = services.member_add(account=tenant.account, email="both@x.test", role="viewer")
    client = Client()
    client.force_login(added.membership.user)
    client.get(f"/dashboard/{charlie.account.pk}/handles/")
    assert client.get("/dashboard/")["Location"] == f"/dashboard/{charlie.account.pk}/"
