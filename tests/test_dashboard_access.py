"""Who may open and do what in the dashboard, for every page in the URLconf.

The pages are read from `config.urls.account_pages`, so a new page is covered the day it is
added: it needs sign-in, it is a 404 for an account or an object that is not yours, a write
needs the right role and a CSRF token, and text from outside is shown inert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership
from config.urls import account_pages
from messaging.services import opt_outs
from messaging.services.inbound import inbound_message_record
from messaging.services.sending import message_send
from tests.conftest import attach_device, signed_in
from tests.messaging.conftest import PNG, upload
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
# Pages only owners may change (team and account settings).
OWNER_ONLY = re.compile(r"^(team|settings)/")


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    routes: list[str] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.append(route)
    return routes


ROUTES = sorted(set(_routes(account_pages)))
OBJECT_ROUTES = [route for route in ROUTES if "<" in route]


@dataclass
class Objects:
    """One of everything a dashboard URL can name, in one account."""

    ids: dict[str, str]

    def url(self, account_id: str, route: str) -> str:
        def fill(match: re.Match[str]) -> str:
            return self.ids[match.group(1)]

        return f"/dashboard/{account_id}/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


def _objects(tenant: Any, address: str, person: str, opt_out_of: str) -> Objects:
    device = attach_device(tenant.account, address)
    attachment_id = upload(tenant, "a.png", PNG).json()["data"]["id"]
    message = message_send(account=tenant.account, to=person, text=XSS, attachments=[attachment_id])
    inbound_message_record(
        handle=device.handle,
        upstream_id=f"in-{address}",
        sender=person,
        participants=[],
        chat_id=None,
        channel="imessage",
        text=XSS,
        at=timezone.now(),
    )
    endpoint = webhook_services.webhook_endpoint_create(
        account=tenant.account, url="https://example.com/hook", events=["*"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=message_event(tenant), next_attempt_at=timezone.now()
    )
    key = account_services.api_key_create(account=tenant.account, name="k").api_key
    # Someone other than `person` (whose messages would fail), with a reason from outside.
    opted_out = opt_outs.opt_out_add(
        account=tenant.account, recipient=opt_out_of, source="api", reason=XSS
    ).opt_out
    membership = Membership.objects.filter(account=tenant.account).first()
    assert membership is not None
    return Objects(
        ids={
            "chat_id": message.chat_id,
            "message_id": message.pk,
            "attachment_id": attachment_id,
            "address": address,
            "webhook_id": endpoint.pk,
            "delivery_id": delivery.pk,
            "key_id": key.pk,
            "membership_id": str(membership.pk),
            "recipient": opted_out.recipient,
        }
    )


def message_event(tenant: Any) -> Any:
    from webhooks.models import Event

    return Event.objects.filter(account=tenant.account).first()


@pytest.fixture
def alices(alice):
    return _objects(alice, "+14155550123", "+14155550199", "+14155550166")


@pytest.fixture
def charlies(charlie):
    return _objects(charlie, "+14155550177", "+14155550188", "+14155550155")


def member(tenant: Any, role: str) -> Client:
    return signed_in(tenant.account, role)


def visit(client: Client, url: str) -> Any:
    """GET the page, or POST to it when it only takes POSTs (an action)."""
    response = client.get(url)
    return client.post(url, {}) if response.status_code == 405 else response


def test_the_urlconf_has_the_pages_these_tests_walk():
    assert len(ROUTES) >= 10
    assert OBJECT_ROUTES


@pytest.mark.parametrize("route", ROUTES)
def test_every_page_sends_a_signed_out_visitor_to_sign_in(route, alice, alices):
    response = visit(Client(), alices.url(alice.account.pk, route))
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/?next=")


@pytest.mark.parametrize("route", ROUTES)
def test_another_account_is_a_404_on_every_page(route, alice, charlie, charlies):
    alice_owner = member(alice, "owner")
    url = charlies.url(charlie.account.pk, route)
    assert visit(alice_owner, url).status_code == 404
    assert alice_owner.post(url, {}).status_code == 404


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_another_accounts_object_is_a_404_on_every_page(route, alice, alices, charlies):
    alice_owner = member(alice, "owner")
    url = charlies.url(alice.account.pk, route)
    assert visit(alice_owner, url).status_code == 404
    assert alice_owner.post(url, {}).status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_a_viewer_may_read_every_page_and_change_nothing(route, alice, alices):
    viewer = member(alice, "viewer")
    url = alices.url(alice.account.pk, route)
    # A form only writers use (a new endpoint, say) may refuse a viewer already on GET.
    assert viewer.get(url).status_code in (200, 302, 403, 405)
    assert viewer.post(url, {}).status_code == 403


@pytest.mark.parametrize("route", ROUTES)
def test_a_developer_changes_all_but_the_team_and_the_account(route, alice, alices):
    developer = member(alice, "developer")
    status = developer.post(alices.url(alice.account.pk, route), {}).status_code
    assert (status == 403) == bool(OWNER_ONLY.match(route))


@pytest.mark.parametrize("route", ROUTES)
def test_an_owner_may_do_everything(route, alice, alices):
    owner = member(alice, "owner")
    assert owner.post(alices.url(alice.account.pk, route), {}).status_code != 403


@pytest.mark.parametrize("route", ROUTES)
def test_every_write_needs_a_csrf_token(route, alice, alices):
    owner = member(alice, "owner")
    owner.handler.enforce_csrf_checks = True
    assert owner.post(alices.url(alice.account.pk, route), {}).status_code == 403


@pytest.mark.parametrize("route", [r for r in ROUTES if "attachments" not in r])
def test_text_from_outside_is_shown_inert(route, alice, alices):
    page = member(alice, "owner").get(alices.url(alice.account.pk, route))
    assert XSS.encode() not in page.content
    assert b"<script>alert" not in page.content
