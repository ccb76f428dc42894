"""A text field that trims its value and refuses a blank one: spaces alone are refused, and
the document says so (`pattern: \\S`), so a schema-valid value is never a 400."""

from __future__ import annotations

import json
import re
from typing import Any

from contract.schema import render_document
from tests.conftest import assert_error, post_message


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(render_document().content)["components"]["schemas"]
    return schemas


def test_a_trimmed_field_that_refuses_blank_says_it_needs_a_character_other_than_a_space():
    schemas = _schemas()
    reply_to = schemas["MessageCreateInputRequest"]["properties"]["reply_to"]
    upstream_id = schemas["JobResultItemInputRequest"]["properties"]["upstream_id"]
    for field in (reply_to, upstream_id):
        assert field["pattern"] == r"\S"
        assert re.search(field["pattern"], "   ") is None
        assert re.search(field["pattern"], " a ")


def test_a_field_that_keeps_its_spaces_or_takes_blank_says_nothing_of_them():
    schemas = _schemas()
    assert "pattern" not in schemas["MessageCreateInputRequest"]["properties"]["text"]
    assert "pattern" not in schemas["ChatRenameInputRequest"]["properties"]["name"]


def test_spaces_alone_in_such_a_field_are_refused_naming_it(alice, alice_device):
    response = post_message(alice, to="+14155550101", text="hi", reply_to="   ")
    body = assert_error(response, 400, "invalid_request")
    assert body["fields"] == {"reply_to": ["This field may not be blank."]}


def test_spaces_alone_in_a_query_filter_are_refused_naming_it(alice):
    body = assert_error(alice.client.get("/v1/messages?chat_id=%20%20"), 400, "invalid_request")
    assert body["fields"] == {"chat_id": ["This field may not be blank."]}
