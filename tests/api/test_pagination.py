"""Page parameters: a crafted limit or cursor is a 400, never a crash."""

from __future__ import annotations

import base64
import json

import pytest
from django.utils import timezone

from tests.conftest import assert_error


@pytest.mark.parametrize("limit", ["\u00b2", "\u0661\u0660"])
def test_a_non_ascii_digit_limit_is_invalid_not_a_crash(alice, limit):
    assert_error(alice.client.get("/v1/messages", {"limit": limit}), 400, "invalid_request")


def test_a_forged_cursor_with_the_wrong_id_type_is_invalid_not_a_crash(alice):
    forged = base64.urlsafe_b64encode(
        json.dumps({"t": timezone.now().isoformat(), "id": "x"}).encode()
    ).decode()
    body = assert_error(alice.client.get("/v1/handles", {"cursor": forged}), 400, "invalid_request")
    assert "cursor" in body["fields"]
