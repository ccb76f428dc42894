"""Every dashboard page in Chromium: no serious or critical axe-core violation, and nothing
refused by the Content-Security-Policy (no console error, htmx runs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page

from accounts import services as account_services
from accounts.dashboard import Role
from accounts.models import Account
from accounts.services import set_password_url
from handles import services as handle_services
from handles.models import Handle
from messaging.models import Chat, Message, OptOut
from messaging.services import opt_outs
from messaging.services.sending import message_send
from tests.browser.conftest import assert_accessible, log_in
from tests.browser.dashboard_support import (
    HANDLE,
    customer_writes,
    member,
)
from tests.messaging import conftest as pipeline
from tests.webhooks import conftest as receivers
from tests.webhooks.conftest import Receiver
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery, WebhookEndpoint

# The real pipeline (live server, Celery worker, simulated devices) and a local receiver.
celery_worker = pipeline.celery_worker
platform = pipeline.platform
receiver_factory = receivers.receiver_factory
receiver = receivers.receiver

OPTED_OUT = "+14155550188"  # replied STOP: a row on the Opt-outs page, and its remove page


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
    opt_outs.opt_out_add(
        account=account, recipient=OPTED_OUT, source=OptOut.Source.KEYWORD, reason="Stop"
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
        "opt-outs": f"{account}opt-outs/",
        "opt-out-remove": f"{account}opt-outs/{OPTED_OUT}/remove/",
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
    "opt-outs",
    "opt-out-remove",
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
