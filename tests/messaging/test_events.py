"""A message (and a chat) reads the same in the API as in the webhook events about it."""

from __future__ import annotations

import pytest

from messaging.api.outputs import ChatOutput, MessageOutput
from messaging.events import chat_data, message_data
from messaging.models import Chat, Message
from tests.conftest import send
from tests.messaging.conftest import (
    PNG,
    device_pushes,
    device_reports,
    device_takes_jobs,
    dispatch,
    upload,
)
from webhooks.models import Event


def in_the_api(tenant, message_id):
    """GET /v1/messages/{id} without the detail fields only that page has."""
    data = tenant.client.get(f"/v1/messages/{message_id}").json()["data"]
    del data["status_history"], data["edit_history"]
    return data


def event_about(event_type, message_id):
    return Event.objects.get(type=event_type, data__id=message_id).data


@pytest.fixture
def sent(alice, online):
    """A message with attachments and metadata, sent by the device as `up-1`."""
    first = upload(alice, "a.png", PNG).json()["data"]["id"]
    second = upload(alice, "b.txt", b"notes").json()["data"]["id"]
    message = send(
        alice, to="+14155550199", text="hi", attachments=[second, first], metadata={"k": "v"}
    )
    dispatch(online.handle)
    (job,) = device_takes_jobs(online)
    device_reports(online, job, ok=True, upstream_id="up-1")
    return message


def test_the_send_answer_is_the_message_queued_event(sent):
    assert event_about("message.queued", sent["id"]) == sent
    assert [a["filename"] for a in sent["attachments"]] == ["b.txt", "a.png"]


def test_a_delivered_message_reads_the_same_in_get_and_in_message_delivered(alice, online, sent):
    receipt = {"id": "r1", "type": "message.delivered", "data": {"upstream_id": "up-1"}}
    device_pushes(online, receipt)
    assert event_about("message.delivered", sent["id"]) == in_the_api(alice, sent["id"])


def test_a_reaction_event_carries_the_message_as_get_shows_it(alice, online, sent):
    reaction = {"upstream_id": "up-1", "from": "+14155550199", "type": "love"}
    device_pushes(online, {"id": "x1", "type": "reaction.added", "data": reaction})
    event = Event.objects.get(type="reaction.added").data
    assert event["message"] == in_the_api(alice, sent["id"])
    assert event["message"]["reactions"][0]["type"] == "love"


def test_a_failed_message_reads_the_same_in_get_and_in_message_failed(alice, online, sent):
    failure = {"upstream_id": "up-1", "error": {"code": "blocked", "message": "No."}}
    device_pushes(online, {"id": "f1", "type": "message.failed", "data": failure})
    assert event_about("message.failed", sent["id"]) == in_the_api(alice, sent["id"])
    assert in_the_api(alice, sent["id"])["error"] == {"code": "blocked", "message": "No."}


def test_a_group_change_reads_the_same_in_get_and_in_chat_updated(alice, online):
    message = send(alice, to=["+14155550198", "+14155550199"], text="hi all")
    renamed = {"chat_id": message["chat_id"], "name": "Team"}
    device_pushes(online, {"id": "c1", "type": "chat.updated", "data": renamed})
    event = Event.objects.get(type="chat.updated").data
    assert event.pop("change") == "name"
    assert event == alice.client.get(f"/v1/chats/{message['chat_id']}").json()["data"]


def test_the_document_declares_exactly_the_fields_a_message_carries(sent):
    message = Message.objects.get(pk=sent["id"])
    assert list(MessageOutput().fields) == list(message_data(message))


def test_the_document_declares_exactly_the_fields_a_chat_carries(sent):
    chat = Chat.objects.select_related("handle").get(pk=sent["chat_id"])
    assert list(ChatOutput().fields) == list(chat_data(chat))
