"""GET /v1/messages and /v1/chats: filters, keyset pages, and nothing of another account."""

from __future__ import annotations

import pytest
from django.utils import timezone

from messaging.models import Message
from tests.conftest import assert_error, send
from tests.messaging.conftest import device_pushes


@pytest.fixture
def conversation(alice, online):
    first = send(alice, to="+14155550101", text="one")
    second = send(alice, to="+14155550102", text="two", channel="sms")
    device_pushes(
        online,
        {
            "id": "in-1",
            "type": "message.received",
            "data": {"upstream_id": "in-1", "from": "+14155550101", "text": "reply"},
        },
    )
    return first, second


def listed(tenant, **params):
    response = tenant.client.get("/v1/messages", params)
    assert response.status_code == 200, response.content
    return [m["text"] for m in response.json()["data"]]


def test_messages_are_listed_newest_first(alice, conversation):
    assert listed(alice) == ["reply", "two", "one"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"direction": "inbound"}, ["reply"]),
        ({"direction": "outbound"}, ["two", "one"]),
        ({"channel": "sms"}, ["two"]),
        ({"status": "queued"}, ["two", "one"]),
        ({"to": "+14155550102"}, ["two"]),
        ({"from_handle": "+14155550101"}, ["reply"]),
    ],
)
def test_each_filter_narrows_the_list(alice, conversation, params, expected):
    assert listed(alice, **params) == expected


def test_the_chat_filter(alice, conversation):
    first, _ = conversation
    assert listed(alice, chat_id=first["chat_id"]) == ["reply", "one"]


def test_the_time_filters(alice, conversation):
    first, second = conversation
    assert listed(alice, created_after=first["created_at"]) == ["reply", "two"]
    assert listed(alice, created_before=second["created_at"]) == ["one"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "teleported"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"limit": "0"}, "limit"),
        ({"sort": "asc"}, "sort"),
    ],
)
def test_a_bad_filter_is_invalid_request(alice, params, field):
    body = assert_error(alice.client.get("/v1/messages", params), 400, "invalid_request")
    assert field in body["fields"]


def test_a_bad_handle_filter_is_invalid_handle(alice):
    assert_error(alice.client.get("/v1/messages", {"to": "12345"}), 400, "invalid_handle")


def test_pages_follow_the_cursor_without_overlap(alice, online):
    for n in range(5):
        send(alice, to=f"+1415555{2000 + n}", text=str(n))
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = alice.client.get("/v1/messages", params).json()
        seen += [m["text"] for m in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
    assert seen == ["4", "3", "2", "1", "0"]


def test_messages_sent_at_the_same_instant_still_page_exactly(alice, online):
    for n in range(4):
        send(alice, to=f"+1415555{2000 + n}", text=str(n))
    Message.objects.update(created_at=timezone.now())
    first = alice.client.get("/v1/messages", {"limit": 2}).json()
    second = alice.client.get("/v1/messages", {"limit": 2, "cursor": first["next_cursor"]}).json()
    texts = [m["text"] for m in first["data"] + second["data"]]
    assert sorted(texts) == ["0", "1", "2", "3"]


def test_chats_are_listed_with_their_participants(alice, conversation):
    chats = alice.client.get("/v1/chats").json()["data"]
    assert {tuple(c["participants"]) for c in chats} == {("+14155550101",), ("+14155550102",)}
    assert all(c["handle"] == "+14155550123" for c in chats)
    assert all(c["type"] == "dm" for c in chats)


def test_lists_never_show_another_accounts_messages_or_chats(alice, charlie, conversation):
    assert charlie.client.get("/v1/messages").json()["data"] == []
    assert charlie.client.get("/v1/chats").json()["data"] == []
    first, _ = conversation
    assert charlie.client.get("/v1/messages", {"chat_id": first["chat_id"]}).json()["data"] == []
