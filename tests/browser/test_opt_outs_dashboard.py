"""The dashboard's Opt-outs page in Chromium against the live server: an owner adds an opt-out
through the form (a bad number is the form's error), a send to them is then refused, and
removing it (after the confirmation) makes sends work again. Saves
var/screenshots/dashboard/opt-outs.png and opt-out-remove.png (docs/dashboard/ keeps copies
for docs/dashboard.md)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts import services as account_services
from handles import services as handle_services
from messaging.errors import RecipientOptedOut
from messaging.models import Message, OptOut
from messaging.services import opt_outs
from messaging.services.sending import message_send
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.browser.dashboard_support import HANDLE, dashboard_url, member

THEM = "+14155550199"


def test_an_owner_adds_an_opt_out_and_removes_it_from_the_dashboard(page: Page, base_url: str):
    account, _ = account_services.account_create(name="Opt-outs Co")
    handle_services.handle_assign(account=account, address=HANDLE)
    waiting = message_send(account=account, to=THEM, text="Your order shipped.")
    # Someone who replied STOP earlier, to see a keyword row beside the one added here.
    opt_outs.opt_out_add(
        account=account, recipient="+14155550188", source=OptOut.Source.KEYWORD, reason="Stop"
    )
    log_in(page, base_url, member(account, "owner@example.com"))
    page.goto(dashboard_url(base_url, account))
    page.get_by_role("link", name="Opt-outs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Opt-outs")
    expect(page.get_by_role("link", name="Opt-outs")).to_have_attribute("aria-current", "page")

    add = page.get_by_role("region", name="Add an opt-out")
    add.get_by_label("Recipient").fill("12345")
    add.get_by_role("button", name="Add opt-out").click()
    expect(add.locator(".errors")).to_contain_text("not a valid E.164")
    assert not OptOut.objects.filter(recipient=THEM).exists()

    add = page.get_by_role("region", name="Add an opt-out")
    add.get_by_label("Recipient").fill(THEM)
    add.get_by_label("Reason").fill("Asked by phone")
    add.get_by_role("button", name="Add opt-out").click()
    expect(page.get_by_role("status")).to_contain_text(f"{THEM} opted out")
    row = page.get_by_role("row", name=re.compile(re.escape(THEM)))
    expect(row).to_contain_text("Asked by phone")
    expect(row).to_contain_text("API")
    expect(page.get_by_role("row", name=re.compile(r"\+14155550188"))).to_contain_text("Keyword")
    assert Message.objects.get(pk=waiting.pk).error_code == "recipient_opted_out"
    with pytest.raises(RecipientOptedOut):
        message_send(account=account, to=THEM, text="Again?")
    assert_accessible(page)
    screenshot(page, "dashboard/opt-outs")

    row.get_by_role("link", name="Remove").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(THEM)
    assert_accessible(page)
    screenshot(page, "dashboard/opt-out-remove")
    page.get_by_role("button", name="Remove opt-out").click()
    expect(page.get_by_role("status")).to_contain_text(f"{THEM} opted back in")
    expect(page.get_by_role("row", name=re.compile(re.escape(THEM)))).to_have_count(0)
    assert not OptOut.objects.filter(account=account, recipient=THEM).exists()
    assert message_send(account=account, to=THEM, text="Welcome back.").status == "queued"


def test_a_viewer_reads_the_opt_outs_without_the_add_form_or_remove_links(
    page: Page, base_url: str
):
    account, _ = account_services.account_create(name="Viewer Co")
    opt_outs.opt_out_add(account=account, recipient=THEM, source=OptOut.Source.API)
    log_in(page, base_url, member(account, "viewer@example.com", "viewer"))
    page.goto(dashboard_url(base_url, account, "opt-outs/"))
    expect(page.get_by_role("row", name=re.compile(re.escape(THEM)))).to_be_visible()
    expect(page.get_by_role("region", name="Add an opt-out")).to_have_count(0)
    expect(page.get_by_role("link", name="Remove")).to_have_count(0)
