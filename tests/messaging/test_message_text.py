"""A message's text is kept as it was sent."""

from __future__ import annotations

from tests.conftest import assert_error, send


def test_text_keeps_its_whitespace(alice, online):
    data = send(alice, to="+14155550199", text="  indented\nand a newline\n")
    assert data["text"] == "  indented\nand a newline\n"


def test_whitespace_only_text_is_no_text(alice, online):
    response = alice.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "   "}, format="json"
    )
    assert_error(response, 400, "invalid_request")
