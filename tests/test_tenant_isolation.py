"""Another account's object is a 404 on every endpoint that names one, never a 403."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ApiKey
from messaging.models import Attachment, Message, OptOut
from messaging.services import opt_outs
from tests.conftest import assert_error
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


@pytest.fixture
def charlies(charlie, charlie_device):
    """One object of each kind that belongs to Charlie."""
    charlie_device.client.post("/device/v1/heartbeat", {}, format="json")
    message = charlie.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "private"}, format="json"
    ).json()["data"]
    attachment = charlie.client.post(
        "/v1/attachments", {"file": SimpleUploadedFile("a.txt", b"secret")}, format="multipart"
    ).json()["data"]
    webhook = charlie.client.post(
        "/v1/webhooks", {"url": "http://127.0.0.1:9/hooks", "events": ["*"]}, format="json"
    ).json()["data"]
    opt_outs.opt_out_add(account=charlie.account, recipient="+14155550166", source="api")
    event = Event.objects.create(account=charlie.account, type="webhook.test", data={})
    delivery = WebhookDelivery.objects.create(endpoint_id=webhook["id"], event=event)
    return {
        "webhook_id": webhook["id"],
        "delivery_id": delivery.id,
        "key_id": ApiKey.objects.get(account=charlie.account).id,
        "message_id": message["id"],
        "chat_id": message["chat_id"],
        "attachment_id": attachment["id"],
        "handle": "+14155550177",
        "opt_out": "+14155550166",
    }


ENDPOINTS = [
    ("get", "/v1/api-keys/{key_id}", None),
    ("delete", "/v1/api-keys/{key_id}", None),
    ("get", "/v1/handles/{handle}", None),
    ("get", "/v1/messages/{message_id}", None),
    ("patch", "/v1/messages/{message_id}", {"text": "mine now"}),
    ("post", "/v1/messages/{message_id}/retry", None),
    ("post", "/v1/messages/{message_id}/cancel", None),
    ("post", "/v1/messages/{message_id}/unsend", None),
    ("post", "/v1/messages/{message_id}/reactions", {"type": "love"}),
    ("delete", "/v1/messages/{message_id}/reactions/love", None),
    ("get", "/v1/chats/{chat_id}", None),
    ("patch", "/v1/chats/{chat_id}", {"name": "mine"}),
    ("get", "/v1/chats/{chat_id}/messages", None),
    ("post", "/v1/chats/{chat_id}/participants", {"handle": "+14155550103"}),
    ("delete", "/v1/chats/{chat_id}/participants/+14155550199", None),
    ("post", "/v1/chats/{chat_id}/typing", None),
    ("post", "/v1/chats/{chat_id}/read", None),
    ("get", "/v1/attachments/{attachment_id}", None),
    ("get", "/v1/attachments/{attachment_id}/content", None),
    ("get", "/v1/webhooks/{webhook_id}", None),
    ("patch", "/v1/webhooks/{webhook_id}", {"enabled": False}),
    ("post", "/v1/webhooks/{webhook_id}/rotate-secret", None),
    ("post", "/v1/webhooks/{webhook_id}/test", None),
    ("get", "/v1/webhooks/{webhook_id}/deliveries", None),
    ("post", "/v1/webhook-deliveries/{delivery_id}/redeliver", None),
    ("delete", "/v1/webhooks/{webhook_id}", None),
    ("delete", "/v1/opt-outs/{opt_out}", None),
]


def call(client, method, path, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_another_accounts_object_is_not_found(alice, charlies, method, path, body):
    response = call(alice.client, method, path.format(**charlies), body)
    missing_ids = {name: f"{value[:4]}doesnotexist" for name, value in charlies.items()}
    missing_ids["handle"] = missing_ids["opt_out"] = "+14155550188"
    missing = call(alice.client, method, path.format(**missing_ids), body)
    assert_error(response, 404, "not_found")
    assert_error(missing, 404, "not_found")
    assert response.json()["message"] == missing.json()["message"]


def test_nothing_of_charlies_changed(alice, charlies):
    for method, path, body in ENDPOINTS:
        call(alice.client, method, path.format(**charlies), body)
    assert ApiKey.objects.get(pk=charlies["key_id"]).revoked_at is None
    message = Message.objects.get(pk=charlies["message_id"])
    assert message.status == "queued"
    assert message.attempts == 1
    assert message.text == "private"
    assert Attachment.objects.get(pk=charlies["attachment_id"]).message_id is None
    assert WebhookEndpoint.objects.get(pk=charlies["webhook_id"]).enabled is True
    assert OptOut.objects.filter(account_id=message.account_id, recipient=charlies["opt_out"])
