"""Group chats: create, rename, add, remove, through the device; DMs refuse group operations."""

from __future__ import annotations

import pytest

from messaging.models import Chat, Message
from tests.conftest import assert_error
from tests.messaging.conftest import wait_until
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = ["+14155550101", "+14155550102"]


def create_group(platform, **body):
    response = platform.client.post(
        "/v1/chats", {"participants": PEOPLE, "name": "Team", **body}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]


def test_a_group_is_created_renamed_grown_and_shrunk(platform):
    _, device = platform.handle("+14155550123")
    created = create_group(platform, text="welcome")
    chat = created["chat"]
    assert chat["type"] == "group"
    assert chat["participants"] == PEOPLE
    assert chat["name"] == "Team"
    assert Chat.objects.get(pk=chat["id"]).upstream_id.startswith("sim-group-")
    assert created["message"]["text"] == "welcome"

    renamed = platform.client.patch(f"/v1/chats/{chat['id']}", {"name": "Crew"}, format="json")
    assert renamed.json()["data"]["name"] == "Crew"
    grown = platform.client.post(
        f"/v1/chats/{chat['id']}/participants", {"handle": "+14155550103"}, format="json"
    )
    assert grown.json()["data"]["participants"] == [*PEOPLE, "+14155550103"]
    shrunk = platform.client.delete(f"/v1/chats/{chat['id']}/participants/+14155550101")
    assert shrunk.json()["data"]["participants"] == ["+14155550102", "+14155550103"]

    kinds = [job.kind for job in device.received if job.kind.startswith("group_")]
    assert kinds == ["group_create", "group_rename", "group_add", "group_remove"]
    changes = [
        e.data["change"] for e in Event.objects.filter(type="chat.updated").order_by("created_at")
    ]
    assert changes == ["created", "name", "participants", "participants"]
    wait_until(
        lambda: Message.objects.filter(chat_id=chat["id"], status="read").exists(),
        what="the first message",
    )


def test_group_operations_on_a_dm_are_not_a_group(platform):
    platform.handle("+14155550123")
    message = platform.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "hi"}, format="json"
    ).json()["data"]
    chat_id = message["chat_id"]
    assert_error(
        platform.client.patch(f"/v1/chats/{chat_id}", {"name": "x"}, format="json"),
        409,
        "not_a_group",
    )
    assert_error(
        platform.client.post(
            f"/v1/chats/{chat_id}/participants", {"handle": "+14155550103"}, format="json"
        ),
        409,
        "not_a_group",
    )
    assert_error(
        platform.client.delete(f"/v1/chats/{chat_id}/participants/+14155550199"),
        409,
        "not_a_group",
    )


def test_a_group_needs_two_people(platform):
    platform.handle("+14155550123")
    response = platform.client.post("/v1/chats", {"participants": ["+14155550101"]}, format="json")
    assert_error(response, 400, "invalid_request")
    assert not Chat.objects.exists()


def test_a_failed_group_creation_leaves_no_chat(platform):
    platform.handle("+14155550123", fail_kinds=frozenset({"group_create"}))
    response = platform.client.post("/v1/chats", {"participants": PEOPLE}, format="json")
    assert_error(response, 502, "group_update_failed")
    assert not Chat.objects.exists()
