"""Another account's object is a 404 on every endpoint that names one, never a 403."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from messaging.models import Message
from tests.conftest import assert_error


@pytest.fixture
def charlies(charlie, charlie_device):
    """One object of each kind that belongs to Charlie."""
    charlie_device.client.post("/device/v1/heartbeat", {}, format="json")
    message = charlie.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "private"}, format="json"
    ).json()["data"]
    return {
        "key_id": ApiKey.objects.get(account=charlie.account).id,
        "message_id": message["id"],
        "chat_id": message["chat_id"],
        "handle": "+14155550177",
    }


ENDPOINTS = [
    ("get", "/v1/api-keys/{key_id}"),
    ("delete", "/v1/api-keys/{key_id}"),
    ("get", "/v1/handles/{handle}"),
    ("get", "/v1/messages/{message_id}"),
    ("post", "/v1/messages/{message_id}/retry"),
    ("post", "/v1/messages/{message_id}/cancel"),
    ("get", "/v1/chats/{chat_id}"),
    ("get", "/v1/chats/{chat_id}/messages"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_another_accounts_object_is_not_found(alice, charlies, method, path):
    response = getattr(alice.client, method)(path.format(**charlies))
    missing_ids = {name: f"{value[:4]}doesnotexist" for name, value in charlies.items()}
    missing_ids["handle"] = "+14155550188"
    missing = getattr(alice.client, method)(path.format(**missing_ids))
    assert_error(response, 404, "not_found")
    assert_error(missing, 404, "not_found")
    assert response.json()["message"] == missing.json()["message"]


def test_nothing_of_charlies_changed(alice, charlies):
    for method, path in ENDPOINTS:
        getattr(alice.client, method)(path.format(**charlies))
    assert ApiKey.objects.get(pk=charlies["key_id"]).revoked_at is None
    message = Message.objects.get(pk=charlies["message_id"])
    assert message.status == "queued"
    assert message.attempts == 1
