from __future__ import annotations

from tests.conftest import assert_error
from webhooks.models import WebhookEndpoint


def create(tenant, **body):
    return tenant.client.post(
        "/v1/webhooks", {"url": "http://127.0.0.1:9/hooks", "events": ["*"], **body}, format="json"
    )


def test_creating_an_endpoint_returns_its_secret_once(alice):
    response = create(alice, events=["message.sent", "message.failed"], description="prod")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"].startswith("whk_")
    assert data["secret"].startswith("whsec_")
    assert data["events"] == ["message.failed", "message.sent"]
    assert data["enabled"] is True
    assert data["disabled_reason"] is None
    fetched = alice.client.get(f"/v1/webhooks/{data['id']}").json()["data"]
    assert "secret" not in fetched
    assert [w["id"] for w in alice.client.get("/v1/webhooks").json()["data"]] == [data["id"]]


def test_an_unknown_event_type_is_invalid(alice):
    body = assert_error(create(alice, events=["message.teleported"]), 400, "invalid_request")
    assert "events" in body["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_updated_and_re_enabled(alice):
    endpoint_id = create(alice).json()["data"]["id"]
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(enabled=False, disabled_reason="410")
    data = alice.client.patch(
        f"/v1/webhooks/{endpoint_id}", {"enabled": True, "events": ["message.read"]}, format="json"
    ).json()["data"]
    assert data["enabled"] is True
    assert data["disabled_reason"] is None
    assert data["events"] == ["message.read"]


def test_rotating_keeps_the_old_secret_for_24_hours(alice):
    created = create(alice).json()["data"]
    rotated = alice.client.post(f"/v1/webhooks/{created['id']}/rotate-secret").json()["data"]
    assert rotated["secret"] != created["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.previous_secret == created["secret"]
    assert endpoint.previous_secret_expires_at is not None


def test_deleting_an_endpoint(alice):
    endpoint_id = create(alice).json()["data"]["id"]
    assert alice.client.delete(f"/v1/webhooks/{endpoint_id}").status_code == 200
    assert_error(alice.client.get(f"/v1/webhooks/{endpoint_id}"), 404, "not_found")


def test_another_accounts_endpoint_is_not_found(alice, charlie):
    theirs = create(charlie).json()["data"]["id"]
    for method, path in [
        ("get", f"/v1/webhooks/{theirs}"),
        ("patch", f"/v1/webhooks/{theirs}"),
        ("delete", f"/v1/webhooks/{theirs}"),
        ("post", f"/v1/webhooks/{theirs}/rotate-secret"),
        ("post", f"/v1/webhooks/{theirs}/test"),
        ("get", f"/v1/webhooks/{theirs}/deliveries"),
    ]:
        response = getattr(alice.client, method)(path, {}, format="json")
        assert_error(response, 404, "not_found")
    assert WebhookEndpoint.objects.get(pk=theirs).enabled is True
    assert alice.client.get("/v1/webhooks").json()["data"] == []
