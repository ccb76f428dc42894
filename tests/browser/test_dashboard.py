"""The owner dashboard in real Chromium against the live server, with no mocks: signing in
and the lockout, a key shown once that then works, a webhook test event followed into the
delivery log, a conversation that updates itself as the (simulated) recipient reads, what a
viewer is not offered, and every page accessible (axe) with nothing blocked by the CSP.

The conversation and webhook tests run the real pipeline (`platform`: the live server, a
Celery worker and a simulated device) and a real local receiver.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from accounts import services as account_services
from accounts.dashboard import Role
from accounts.models import Account
from accounts.services import set_password_url
from handles import services as handle_services
from handles.models import Channel, Handle
from messaging.models import Chat, Message
from messaging.services.inbound import inbound_message_record
from messaging.services.sending import message_send
from tests.browser.conftest import assert_accessible, log_in
from tests.messaging import conftest as pipeline
from tests.messaging.conftest import Platform
from tests.webhooks import conftest as receivers
from tests.webhooks.conftest import Receiver
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery, WebhookEndpoint

# The real pipeline (live server, Celery worker, simulated devices) and a local receiver.
celery_worker = pipeline.celery_worker
platform = pipeline.platform
receiver_factory = receivers.receiver_factory
receiver = receivers.receiver

PASSWORD = "a long enough test passphrase 7"
CUSTOMER = "+14155550111"
HANDLE = "+14155550100"


def member(account: Account, email: str, role: str = Role.OWNER) -> User:
    """A person in `account` with `role` and PASSWORD."""
    added = account_services.member_add(account=account, email=email, role=role, password=PASSWORD)
    return added.membership.user


def dashboard_url(base_url: str, account: Account, path: str = "") -> str:
    return f"{base_url}/dashboard/{account.pk}/{path}"


def customer_writes(handle: Handle, text: str = "Hi! Is my order on its way?") -> Chat:
    """An inbound message from CUSTOMER, as a device reports it; its (new) conversation."""
    message = inbound_message_record(
        handle=handle,
        upstream_id=f"in-{time.monotonic_ns()}",
        sender=CUSTOMER,
        participants=[],
        chat_id=None,
        channel=Channel.IMESSAGE,
        text=text,
        at=timezone.now(),
    )
    assert message is not None
    return message.chat


def submit_login(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/dashboard/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def reload_until(page: Page, check: Callable[[], bool], *, timeout: float = 10) -> None:
    """Reload the page until `check()` holds (what a person watching the log would do)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url} never showed it in {timeout:.0f} s")
        time.sleep(0.2)
        page.reload()


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


# --- every page: accessible, and nothing refused by the Content-Security-Policy ----------------


@dataclass
class Dashboard:
    """An account with something on every page, and what the pages' paths name."""

    account: Account
    owner: User
    chat: Chat
    message: Message
    handle: Handle
    endpoint: WebhookEndpoint
    delivery: WebhookDelivery
    invited: User


@pytest.fixture
def dashboard(receiver: Receiver) -> Dashboard:
    account, _ = account_services.account_create(name="Acme Support")
    owner = member(account, "owner@example.com")
    account_services.member_add(account=account, email="dev@example.com", role=Role.DEVELOPER)
    invited = account_services.member_add(
        account=account, email="new@example.com", role=Role.VIEWER
    ).membership.user
    handle = handle_services.handle_assign(account=account, address=HANDLE)
    handle_services.device_attach(handle=handle, simulated=True)
    chat = customer_writes(handle)
    message = message_send(account=account, chat_id=chat.pk, text="It left the warehouse today.")
    failed = message_send(account=account, to="+14155559999", text="Your code is 123456")
    Message.objects.filter(pk=failed.pk).update(
        status="failed",
        error_code="undeliverable",
        error_message="Recipient rejected it.",
        failed_at=timezone.now(),
    )
    endpoint = webhook_services.webhook_endpoint_create(
        account=account, url=receiver.url, events=["*"], description="Order system"
    )
    delivery = webhook_services.webhook_endpoint_test(endpoint=endpoint)
    assert webhook_services.webhook_deliver(delivery_id=delivery.pk) == "succeeded"
    return Dashboard(account, owner, chat, message, handle, endpoint, delivery, invited)


def pages_of(d: Dashboard) -> dict[str, str]:
    """Each page's path; those of a signed-in owner start with the account's."""
    account = f"/dashboard/{d.account.pk}/"
    return {
        "overview": account,
        "conversations": f"{account}conversations/",
        "conversation": f"{account}conversations/{d.chat.pk}/",
        "messages": f"{account}messages/",
        "message": f"{account}messages/{d.message.pk}/",
        "new-message": f"{account}messages/new/",
        "handles": f"{account}handles/",
        "handle": f"{account}handles/{d.handle.address}/",
        "api-keys": f"{account}api-keys/",
        "webhooks": f"{account}webhooks/",
        "webhook-new": f"{account}webhooks/new/",
        "webhook-endpoint": f"{account}webhooks/{d.endpoint.pk}/",
        "webhook-delivery": f"{account}webhooks/deliveries/{d.delivery.pk}/",
        "team": f"{account}team/",
        "login": "/dashboard/login/",
        "password-reset": "/dashboard/password-reset/",
        "password-reset-sent": "/dashboard/password-reset/sent/",
        # The link of an invitation (or a reset): choose a password.
        "set-password": urlsplit(set_password_url(user=d.invited)).path,
    }


# Signed out first: the sign-in page sends a signed-in person on to the dashboard.
SIGNED_OUT = ["login", "password-reset", "password-reset-sent", "set-password"]
SIGNED_IN = [
    "overview",
    "conversations",
    "conversation",
    "messages",
    "message",
    "new-message",
    "handles",
    "handle",
    "api-keys",
    "webhooks",
    "webhook-new",
    "webhook-endpoint",
    "webhook-delivery",
    "team",
]


@dataclass
class Watch:
    """What the page reports besides `page_errors`: where each console error came from
    (page_errors has its text alone), and the page's requests answered with an error."""

    sources: list[str]
    failed: list[str]

    @classmethod
    def of(cls, page: Page) -> Watch:
        watch = cls(sources=[], failed=[])
        page.on(
            "console",
            lambda message: (
                watch.sources.append(message.location.get("url", ""))
                if message.type == "error"
                else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                watch.failed.append(f"request answered {response.status}: {response.url}")
                if response.status >= 400
                else None
            ),
        )
        return watch


def icon_problem(page: Page, base_url: str) -> str | None:
    """A page that declares no icon has the browser ask for /favicon.ico on the first page
    of a visit (whichever it is, so when depends on the order of the tests): a 404 there is
    a console error. Checked here once, outright; that console error is left out below."""
    if page.locator('link[rel~="icon"]').count():
        return None
    status = requests.get(f"{base_url}/favicon.ico", timeout=10).status_code
    if status == 200:
        return None
    return (
        f"the page declares no icon (<link rel=icon>) and /favicon.ico answers {status}: "
        "Chromium logs 'Failed to load resource: 404' on the first page of every visit"
    )


def problems_of(page: Page, page_errors: list[str], watch: Watch, name: str, url: str) -> list[str]:
    """What is wrong with one page: its status, axe's serious and critical violations, the
    console errors and uncaught exceptions it caused (a script or style the CSP refused is
    a console error), and its requests that failed."""
    errors_before, sources_before = len(page_errors), len(watch.sources)
    failed_before = len(watch.failed)
    response = page.goto(url)
    assert response is not None
    problems = []
    if response.status != 200 or (name != "login" and "/login/" in page.url):
        problems.append(f"answered {response.status} at {page.url}")
    if name == "conversation":
        # htmx runs (the CSP let its script in): the thread's first poll, 2 s on, answers.
        with page.expect_response(re.compile(r"/thread/$")) as poll:
            pass
        if poll.value.status != 200:
            problems.append(f"the thread's poll answered {poll.value.status}")
    try:
        assert_accessible(page)
    except AssertionError as violations:
        problems.append(str(violations))
    sources = iter(watch.sources[sources_before:])
    for error in page_errors[errors_before:]:
        source = next(sources, "") if error.startswith("console:") else ""
        if not source.endswith("/favicon.ico"):
            problems.append(f"{error}{f' (from {source})' if source else ''}")
    problems.extend(f for f in watch.failed[failed_before:] if not f.endswith("/favicon.ico"))
    return problems


def test_every_dashboard_page_is_accessible_and_loads_without_console_errors(
    page: Page, base_url: str, page_errors: list[str], dashboard: Dashboard
):
    """Every page, whatever fails on one, so that one run lists everything to fix."""
    paths = pages_of(dashboard)
    watch = Watch.of(page)
    found: dict[str, list[str]] = {}
    for name in SIGNED_OUT:
        found[name] = problems_of(page, page_errors, watch, name, f"{base_url}{paths[name]}")
        if name == "login" and (problem := icon_problem(page, base_url)):
            found[name].append(problem)
    log_in(page, base_url, dashboard.owner)
    for name in SIGNED_IN:
        found[name] = problems_of(page, page_errors, watch, name, f"{base_url}{paths[name]}")

    assert set(found) == set(paths)
    report = [f"{name} ({paths[name]}):\n  " + "\n  ".join(p) for name, p in found.items() if p]
    assert not report, "\n".join(report)
