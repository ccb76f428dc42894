"""The send body's shortcut (`MessageCreateInput.parse_plain`) gives exactly what the
serializer gives for the bodies it takes, and leaves every other body to the serializer."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.api.serializers import MessageCreateInput

PLAIN_BODIES: list[dict[str, Any]] = [
    {"to": "+14155550199", "text": "hi"},
    {"to": "+14155550198", "text": "  spaced  "},
    {"to": "Someone@Example.com", "text": "hi", "channel": "imessage", "fallback": False},
    {"chat_id": "  chat_abc  ", "text": "hi", "reply_to": " msg_x ", "effect": "confetti"},
    {
        "to": "+14155550199",
        "from_handle": "+14155550123",
        "text": "x" * 10_000,
        "channel": "auto",
        "fallback": None,
        "metadata": {"order": " 42 ", "empty": "", "k" * 40: "v" * 500},
    },
]

OTHER_BODIES: list[Any] = [
    {"to": "+14155550199"},
    {"to": "+14155550199", "text": "   "},
    {"to": "+14155550199", "chat_id": "chat_abc", "text": "hi"},
    {"to": None, "text": "hi"},
    {"to": "", "text": "hi"},
    {"to": "nope", "text": "hi"},
    {"to": ["+14155550199", "+14155550100"], "text": "group"},
    {"to": "+14155550199", "text": "hi", "attachments": ["att_x"]},
    {"to": "+14155550199", "text": "hi", "send_at": "2030-01-01T00:00:00Z"},
    {"to": "+14155550199", "text": "hi\x00"},
    {"to": "+14155550199", "text": "x" * 10_001},
    {"to": "+14155550199", "text": "hi", "channel": "fax"},
    {"to": "+14155550199", "text": "hi", "fallback": "yes"},
    {"to": "+14155550199", "text": "hi", "effect": ""},
    {"to": "+14155550199", "text": "hi", "reply_to": None},
    {"to": "+14155550199", "text": "hi", "metadata": {"k": 1}},
    {"to": "+14155550199", "text": "hi", "metadata": {"": "v"}},
    {"to": "+14155550199", "text": "hi", "metadata": {f"k{i}": "v" for i in range(21)}},
    {"to": "+14155550199", "text": "hi", "metadata": {"k": "v" * 501}},
    {"to": "+14155550199", "text": "hi", "surprise": 1},
    {"chat_id": "", "text": "hi"},
    {"chat_id": "c" * 41, "text": "hi"},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("body", PLAIN_BODIES)
def test_a_plain_body_parses_exactly_as_the_serializer_parses_it(body):
    serializer = MessageCreateInput(data=body)
    assert serializer.is_valid(), serializer.errors
    assert MessageCreateInput.parse_plain(body) == dict(serializer.validated_data)


@pytest.mark.parametrize("body", OTHER_BODIES)
def test_any_other_body_is_left_to_the_serializer(body):
    assert MessageCreateInput.parse_plain(body) is None
