"""The owner dashboard in real Chromium against the live server, with no mocks: signing in
and the lockout, a key shown once that then works, a webhook test event followed into the
delivery log, a conversation that updates itself as the (simulated) recipient reads, what a
viewer is not offered, and every page accessible (axe) with nothing blocked by the CSP.

The conversation and webhook tests run the real pipeline (`platform`: the live server, a
Celery worker and a simulated device) and a real local receiver.
"""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from accounts import services as account_services
from accounts.dashboard import Role
from handles import services as handle_services
from messaging.models import Message
from tests.browser.conftest import log_in
from tests.browser.dashboard_support import (
    HANDLE,
    PASSWORD,
    customer_writes,
    dashboard_url,
    member,
    reload_until,
    submit_login,
)
from tests.messaging import conftest as pipeline
from tests.messaging.conftest import Platform
from tests.webhooks import conftest as receivers
from tests.webhooks.conftest import Receiver
from webhooks import services as webhook_services

# The real pipeline (live server, Celery worker, simulated devices) and a local receiver.
celery_worker = pipeline.celery_worker
platform = pipeline.platform
receiver_factory = receivers.receiver_factory
receiver = receivers.receiver


# --- signing in --------------------------------------------------------------------------


def test_signing_in_through_the_login_form_lands_on_the_account_overview(page: Page, base_url: str):
    account, _ = account_services.account_create(name="Sign-in Co")
    member(account, "owner@example.com")

    submit_login(page, base_url, "owner@example.com", PASSWORD)

    expect(page).to_have_url(dashboard_url(base_url, account))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in Co")
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    expect(page.locator("header .who")).to_contain_text("owner@example.com · Owner")


def test_the_login_page_locks_after_repeated_wrong_passwords(page: Page, base_url: str):
    """AXES_FAILURE_LIMIT is 5: the first wrong passwords get the form's error; the 5th is
    answered with the lockout page (it is the one that locks), and from then on every
    attempt, the right password included, gets that page and no session."""
    account, _ = account_services.account_create(name="Lockout Co")
    member(account, "owner@example.com")
    lockout = page.get_by_role("heading", name="Too many wrong passwords")

    for attempt in range(1, 5):
        submit_login(page, base_url, "owner@example.com", f"wrong password {attempt}")
        expect(page.get_by_role("alert")).to_contain_text("That email and password do not match")
        expect(lockout).to_have_count(0)
    submit_login(page, base_url, "owner@example.com", "wrong password 5")
    expect(lockout).to_be_visible()

    with page.expect_response(lambda response: response.request.method == "POST") as sixth:
        submit_login(page, base_url, "owner@example.com", PASSWORD)
    assert sixth.value.status == 429
    expect(lockout).to_be_visible()
    expect(page.get_by_role("link", name="Reset your password")).to_be_visible()

    page.goto(f"{base_url}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login/\?next="))


# --- API keys ------------------------------------------------------------------------------


def test_a_new_api_key_is_shown_once_and_its_secret_works_against_the_api(
    page: Page, base_url: str
):
    account, _ = account_services.account_create(name="Keys Co")
    log_in(page, base_url, member(account, "owner@example.com"))
    page.goto(dashboard_url(base_url, account, "api-keys/"))

    page.get_by_label("Name").fill("Production backend")
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_role("status")).to_contain_text("Created the key Production backend")
    secret = (page.locator("#revealed-secret").text_content() or "").strip()
    assert re.fullmatch(r"sk_live_\S{20,}", secret), secret

    page.reload()
    expect(page.locator("#revealed-secret")).to_have_count(0)
    assert secret not in page.content()
    row = page.get_by_role("row", name=re.compile("Production backend"))
    expect(row.locator("code")).to_have_text(f"{secret[:12]}…")

    # Like curl: a plain HTTP client, outside the browser.
    response = requests.get(
        f"{base_url}/v1/account", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == account.pk


# --- webhooks ------------------------------------------------------------------------------


def test_a_test_event_sent_from_an_endpoints_page_shows_in_its_delivery_log_with_status_200(
    page: Page, platform: Platform, receiver: Receiver
):
    base_url, account = platform.base_url, platform.account
    log_in(page, base_url, member(account, "owner@example.com"))
    page.goto(dashboard_url(base_url, account, "webhooks/"))

    page.get_by_role("link", name="New endpoint").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description").fill("Local receiver")
    page.get_by_label("All events").check()
    page.get_by_role("button", name="Create endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook endpoint")
    secret = (page.locator("#revealed-secret").text_content() or "").strip()
    assert secret.startswith("whsec_"), secret

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("status")).to_contain_text("Test event sent")
    expect(page.locator("#revealed-secret")).to_have_count(0)

    row = page.get_by_role("row", name=re.compile(r"webhook\.test"))
    reload_until(page, lambda: row.locator(".badge.succeeded").count() == 1)
    cells = row.get_by_role("cell")
    expect(cells.nth(2)).to_have_text("1")  # attempts
    expect(cells.nth(3)).to_have_text("200")  # last status code

    # The receiver got it, signed with the secret the page showed once.
    [delivered] = receiver.bodies_of_type("webhook.test")
    Webhook(secret).verify(delivered.body, delivered.headers)


# --- conversations -------------------------------------------------------------------------


def test_a_message_sent_from_the_compose_box_reaches_read_in_the_thread_without_a_reload(
    page: Page, platform: Platform
):
    handle, _device = platform.handle(HANDLE)
    chat = customer_writes(handle)
    log_in(page, platform.base_url, member(platform.account, "owner@example.com"))
    page.goto(dashboard_url(platform.base_url, platform.account, f"conversations/{chat.pk}/"))
    expect(page.locator(".bubble.inbound")).to_contain_text("Is my order on its way?")
    page.evaluate("window.sameDocument = true")  # gone if anything reloads the page

    page.get_by_label("Message").fill("It left the warehouse this morning.")
    with page.expect_response(lambda response: response.url.endswith("/send/")) as posted:
        page.get_by_role("button", name="Send").click()

    sent = page.locator(".bubble.outbound", has_text="It left the warehouse this morning.")
    expect(sent).to_have_count(1)
    # htmx swapped in the thread as it was when sent, and a fresh form for the next one.
    assert posted.value.request.headers.get("hx-request") == "true"
    assert 'data-status="queued"' in posted.value.text()
    expect(page.get_by_label("Message")).to_have_value("")
    # The device sends, then reports delivered and read; the thread polls every 2 s.
    status = sent.locator("[data-status]")
    expect(status).to_have_attribute("data-status", "read", timeout=10_000)
    expect(status).to_have_text("✓✓ read")
    assert page.evaluate("window.sameDocument") is True
    assert Message.objects.get(chat=chat, direction="outbound").status == "read"


# --- roles ---------------------------------------------------------------------------------


def test_a_viewer_sees_no_compose_box_new_message_key_forms_revoke_links_or_webhook_create_button(
    page: Page, base_url: str
):
    account, _ = account_services.account_create(name="Viewer Co")  # with its Default key
    chat = customer_writes(handle_services.handle_assign(account=account, address=HANDLE))
    endpoint = webhook_services.webhook_endpoint_create(
        account=account, url="http://127.0.0.1:9/hooks", events=["*"]
    )
    log_in(page, base_url, member(account, "viewer@example.com", Role.VIEWER))

    page.goto(dashboard_url(base_url, account, f"conversations/{chat.pk}/"))
    expect(page.locator("header .who")).to_contain_text("viewer@example.com · Viewer")
    expect(page.locator(".bubble.inbound")).to_have_count(1)
    expect(page.locator("#compose")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_have_count(0)
    expect(page.get_by_role("link", name="New message")).to_have_count(0)

    page.goto(dashboard_url(base_url, account, "messages/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages")
    expect(page.get_by_role("link", name="New message")).to_have_count(0)

    page.goto(dashboard_url(base_url, account, "api-keys/"))
    expect(page.get_by_role("row", name=re.compile("Default key"))).to_be_visible()
    expect(page.get_by_role("heading", name="Create a key")).to_have_count(0)
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    expect(page.get_by_role("link", name="Revoke")).to_have_count(0)

    page.goto(dashboard_url(base_url, account, "webhooks/"))
    expect(page.get_by_role("link", name=endpoint.url)).to_be_visible()
    expect(page.get_by_role("link", name="New endpoint")).to_have_count(0)

    page.goto(dashboard_url(base_url, account, f"webhooks/{endpoint.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook endpoint")
    expect(page.get_by_role("button")).to_have_text(["Open", "Sign out"])  # the header's only
    expect(
        page.get_by_role("link", name=re.compile("Edit endpoint|Delete endpoint"))
    ).to_have_count(0)
