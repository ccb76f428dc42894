"""The dashboard's webhooks pages: endpoints, a secret shown once, the delivery log.

Deliveries are made by the same service the worker runs (`webhook_deliver`), called here
directly against a real local receiver, so the pages show real attempts.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.webhooks.dashboard_support import (
    delivery_url,
    endpoint_url,
    errors_of,
    form,
    make_endpoint,
    text,
    url,
)
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

# --- creating, and the secret shown once ---------------------------------------------------


def test_a_developer_creates_an_endpoint_and_sees_its_secret_once(alice, developer):
    response = developer.post(
        url("dashboard-webhook-new", alice.account),
        form(events=["message.sent", "message.failed"], description="Production"),
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get(account=alice.account)
    assert response.redirect_chain == [(endpoint_url(endpoint), 302)]
    assert endpoint.events == ["message.failed", "message.sent"]
    assert endpoint.description == "Production"
    page = text(response)
    assert f'<code id="revealed-secret">{endpoint.secret}</code>' in page
    assert 'data-copy="revealed-secret"' in page
    assert "will not be shown again" in page
    assert "no-store" in response["Cache-Control"]

    reloaded = developer.get(endpoint_url(endpoint))
    assert reloaded.status_code == 200
    assert endpoint.secret not in text(reloaded)
    assert "revealed-secret" not in text(reloaded)


@pytest.mark.parametrize(
    ("bad_url", "reason"),
    [
        ("ftp://example.com/hooks", "Must use http or https."),
        ("http://user:pw@example.com/hooks", "Must not contain credentials."),
    ],
)
def test_an_invalid_url_shows_its_error_on_the_url_field_and_creates_nothing(
    alice, developer, bad_url, reason
):
    response = developer.post(url("dashboard-webhook-new", alice.account), form(url=bad_url))
    assert response.status_code == 200
    page = text(response)
    assert errors_of(page, "id_url") == [reason]
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_url_helptext id_url_error"' in page
    assert not WebhookEndpoint.objects.exists()


def test_choosing_no_event_type_shows_an_error_on_the_events_field(alice, developer):
    response = developer.post(url("dashboard-webhook-new", alice.account), form(events=[]))
    assert errors_of(text(response), "id_events") == [
        "Choose at least one event type, or All events."
    ]
    assert not WebhookEndpoint.objects.exists()


def test_the_event_picker_offers_every_subscribable_type_and_all_events(alice, developer):
    page = text(developer.get(url("dashboard-webhook-new", alice.account)))
    values = re.findall(r'<input type="checkbox" name="events" value="([^"]+)"', page)
    assert values[0] == "*"
    assert "message.delivered" in values
    assert "handle.offline" in values
    assert "webhook.test" not in values


def test_all_events_wins_over_single_types(alice, developer):
    developer.post(url("dashboard-webhook-new", alice.account), form(events=["*", "message.sent"]))
    assert WebhookEndpoint.objects.get(account=alice.account).events == ["*"]


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_endpoint_with_its_events_and_status(alice, developer):
    everything = make_endpoint(alice.account, description="Everything")
    some = make_endpoint(alice.account, "http://127.0.0.1:9/some", events=["message.read"])
    WebhookEndpoint.objects.filter(pk=some.pk).update(
        enabled=False, disabled_reason="The endpoint answered 410 Gone."
    )
    page = text(developer.get(url("dashboard-webhooks", alice.account)))
    assert f'href="{endpoint_url(everything)}"' in page
    assert f'href="{endpoint_url(some)}"' in page
    assert "Everything" in page
    assert "All events" in page
    assert "<code>message.read</code>" in page
    assert '<span class="badge enabled">Enabled</span>' in page
    assert '<span class="badge disabled">Disabled</span>' in page
    assert "The endpoint answered 410 Gone." in page
    assert "New endpoint" in page
    assert everything.secret not in page


# --- roles and tenancy ---------------------------------------------------------------------


def test_a_viewer_cannot_create_an_endpoint(alice, viewer):
    new = url("dashboard-webhook-new", alice.account)
    assert viewer.post(new, form()).status_code == 403
    assert viewer.get(new).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_a_viewer_sees_the_pages_but_no_button_that_writes(alice, viewer):
    endpoint = make_endpoint(alice.account)
    delivery = services.webhook_endpoint_test(endpoint=endpoint)
    pages = [
        url("dashboard-webhooks", alice.account),
        endpoint_url(endpoint),
        delivery_url(delivery),
    ]
    for page_url in pages:
        response = viewer.get(page_url)
        assert response.status_code == 200
        page = text(response)
        # The header's sign-out is the only form that posts.
        assert page.count('method="post"') == 1, page_url
        for label in ("New endpoint", "Edit endpoint", "Delete endpoint", "Redeliver"):
            assert label not in page, (page_url, label)
    assert viewer.post(endpoint_url(endpoint, "dashboard-webhook-test")).status_code == 403
    assert viewer.post(delivery_url(delivery, "dashboard-webhook-redeliver")).status_code == 403
    assert viewer.get(endpoint_url(endpoint, "dashboard-webhook-delete")).status_code == 403
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "dashboard-webhook"),
        ("get", "dashboard-webhook-edit"),
        ("post", "dashboard-webhook-edit"),
        ("get", "dashboard-webhook-delete"),
        ("post", "dashboard-webhook-delete"),
        ("post", "dashboard-webhook-test"),
        ("post", "dashboard-webhook-rotate-secret"),
        ("post", "dashboard-webhook-disable"),
    ],
)
def test_another_accounts_endpoint_is_not_found(alice, charlie, developer, method, name):
    theirs = make_endpoint(charlie.account)
    mine = url(name, alice.account, webhook_id=theirs.pk)
    missing = url(name, alice.account, webhook_id="whk_doesnotexist")
    assert getattr(developer, method)(mine, form()).status_code == 404
    assert getattr(developer, method)(missing, form()).status_code == 404
    unchanged = WebhookEndpoint.objects.get(pk=theirs.pk)
    assert (unchanged.secret, unchanged.enabled, unchanged.url) == (
        theirs.secret,
        True,
        theirs.url,
    )
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "dashboard-webhook-delivery"), ("post", "dashboard-webhook-redeliver")],
)
def test_another_accounts_delivery_is_not_found(alice, charlie, developer, method, name):
    theirs = services.webhook_endpoint_test(endpoint=make_endpoint(charlie.account))
    WebhookDelivery.objects.filter(pk=theirs.pk).update(status="failed", next_attempt_at=None)
    response = getattr(developer, method)(url(name, alice.account, delivery_id=theirs.pk))
    assert response.status_code == 404
    missing = url(name, alice.account, delivery_id="dlv_doesnotexist")
    assert getattr(developer, method)(missing).status_code == 404
    assert WebhookDelivery.objects.get(pk=theirs.pk).status == "failed"


def test_a_signed_out_visitor_is_sent_to_sign_in(alice):
    response = Client().get(url("dashboard-webhooks", alice.account))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard-login"))
