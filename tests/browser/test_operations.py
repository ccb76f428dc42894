"""The operator's console in Debian's Chromium: sign in to /admin/, read the overview, pause
an offline handle from it, and find that in the audit log. Screenshots of each step are in
var/screenshots/operations/ (docs/operations/ keeps copies for docs/operations.md)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts import services as account_services
from handles import services as handle_services
from handles.models import Handle
from messaging.models import Message
from messaging.services import lifecycle
from tests.browser.conftest import assert_accessible, screenshot
from tests.conftest import client_for, send
from webhooks import services as webhook_services
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

OFFLINE = "+14155550102"
PASSWORD = "a long operator passphrase"


class _Tenant:
    def __init__(self, name: str) -> None:
        self.account, issued = account_services.account_create(name=name)
        self.client = client_for(issued.secret)


def _seed(settings) -> None:
    """An offline handle, a deep queue, failures by code, a failing endpoint."""
    settings.SWITCHBOARD_OVERVIEW_QUEUE_DEPTH = 3
    acme, globex = _Tenant("Acme Logistics"), _Tenant("Globex Retail")
    offline = handle_services.handle_assign(account=acme.account, address=OFFLINE)
    Handle.objects.filter(pk=offline.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=42)
    )
    busy = handle_services.handle_assign(account=globex.account, address="+14155550103")
    Handle.objects.filter(pk=busy.pk).update(
        status=Handle.Status.ONLINE, status_changed_at=timezone.now()
    )
    for n in range(5):
        send(globex, to="+14155550199", text=f"order {n}", from_handle=busy.address)
    for n in range(2):
        message = send(acme, to="+14155550198", text=f"late {n}", from_handle=offline.address)
        lifecycle.message_cancel(message=Message.objects.get(pk=message["id"]))
    endpoint = webhook_services.webhook_endpoint_create(
        account=globex.account, url="https://hooks.globex.example/switchboard", events=["*"]
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=3)
    )


def _sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_an_operator_sees_an_offline_handle_pauses_it_and_finds_it_in_the_audit_log(
    page: Page, base_url: str, settings
):
    _seed(settings)
    get_user_model().objects.create_superuser("operator", "ops@example.com", PASSWORD)

    _sign_in(page, base_url)
    offline_card = page.locator("#card-handles-offline")
    expect(offline_card).to_contain_text(OFFLINE)
    expect(offline_card).to_contain_text("42\xa0minutes ago")
    expect(page.locator("#card-queues")).to_contain_text("+14155550103")
    expect(page.locator("#card-failures")).to_contain_text("canceled")
    expect(page.locator("#card-endpoints")).to_contain_text("hooks.globex.example")
    assert_accessible(page, selector=".overview")
    screenshot(page, "operations/overview")
    page.emulate_media(color_scheme="dark")  # the admin's dark theme follows the system's
    page.wait_for_function("getComputedStyle(document.body).backgroundColor === 'rgb(18, 18, 18)'")
    # The admin's links fade to their new colour (a CSS transition): axe reads them once done.
    page.wait_for_function("document.getAnimations().length === 0")
    assert_accessible(page, selector=".overview")
    screenshot(page, "operations/overview-dark")
    page.emulate_media(color_scheme="light")

    offline_card.get_by_role("link", name="Handles offline").click()
    row = page.locator("#result_list tbody tr", has_text=OFFLINE)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "pause")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("ul.messagelist")).to_contain_text("1 handle(s) paused.")
    screenshot(page, "operations/handle-paused")
    assert Handle.objects.get(address=OFFLINE).paused

    page.goto(f"{base_url}/admin/")
    expect(page.locator("#card-handles-offline")).to_contain_text(f"{OFFLINE} (paused)")
    page.get_by_role("link", name=re.compile(r"^Audit", re.I)).first.click()
    entry = page.locator("#result_list tbody tr", has_text=OFFLINE)
    expect(entry).to_contain_text("handle.pause")
    expect(entry).to_contain_text("operator")
    screenshot(page, "operations/audit-log")
