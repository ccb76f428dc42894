"""What the dashboard's browser tests share: people, URLs, the login form, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page

from accounts import services as account_services
from accounts.dashboard import Role
from accounts.models import Account
from handles.models import Channel, Handle
from messaging.models import Chat
from messaging.services.inbound import inbound_message_record
from tests.messaging import conftest as pipeline
from tests.webhooks import conftest as receivers

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
