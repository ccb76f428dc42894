"""Every response that carries a secret shown once says `Cache-Control: no-store`."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from handles import services as handle_services
from handles.selectors import device_get_by_token
from tests.conftest import signed_in


def assert_not_stored(response):
    """`no-store` among the Cache-Control directives (the admin adds never_cache's others)."""
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert "no-store" in directives, response.get("Cache-Control")


def test_a_new_api_key_is_not_stored_by_caches(alice):
    response = alice.client.post("/v1/api-keys", {"name": "ci"}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["secret"].startswith("sk_live_")
    assert_not_stored(response)


def test_a_new_webhook_and_its_secret_are_not_stored_by_caches(alice):
    response = alice.client.post(
        "/v1/webhooks", {"url": "https://example.com/hook", "events": ["*"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["data"]["secret"].startswith("whsec_")
    assert_not_stored(response)


def test_a_rotated_webhook_secret_is_not_stored_by_caches(alice):
    webhook = alice.client.post(
        "/v1/webhooks", {"url": "https://example.com/hook", "events": ["*"]}, format="json"
    ).json()["data"]
    response = alice.client.post(f"/v1/webhooks/{webhook['id']}/rotate-secret")
    assert response.status_code == 200
    assert response.json()["data"]["secret"].startswith("whsec_")
    assert_not_stored(response)


def test_reading_an_api_key_carries_no_secret_and_may_be_cached(alice):
    response = alice.client.get("/v1/api-keys")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_the_dashboard_page_revealing_a_new_key_is_not_stored(alice):
    browser = signed_in(alice.account, "owner")
    created = browser.post(
        reverse("dashboard-api-key-create", kwargs={"account_id": alice.account.pk}),
        {"name": "deploy"},
        follow=True,
    )
    assert created.status_code == 200
    assert re.search(rb"sk_live_[A-Za-z0-9_-]{16,}", created.content)
    assert_not_stored(created)


def test_attaching_a_device_in_the_admin_shows_a_working_token_on_a_page_not_stored(alice, db):
    handle = handle_services.handle_assign(account=alice.account, address="+14155550188")
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "pw")
    admin = Client()
    admin.force_login(operator)
    response = admin.post(
        reverse("admin:handles_handle_changelist"),
        {"action": "attach_device", "_selected_action": [handle.pk]},
    )
    assert response.status_code == 200
    assert_not_stored(response)
    token = re.search(rb"sbd_[A-Za-z0-9_-]+", response.content)
    assert token is not None
    device = device_get_by_token(token=token.group().decode())
    assert device is not None
    assert device.handle_id == handle.pk
    assert "sbd_" not in response.cookies.output()
