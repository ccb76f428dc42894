"""The one handle validation: E.164 numbers that really exist, or email addresses."""

from __future__ import annotations

import pytest

from contract.errors import DomainError
from handles.addresses import handle_normalize


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("+14155550123", "+14155550123"),
        ("  +447911123456 ", "+447911123456"),
        ("Tim.Cook@Example.COM", "tim.cook@example.com"),
        ("a+tag@mail.example.co.uk", "a+tag@mail.example.co.uk"),
    ],
)
def test_valid_handles_are_normalized(raw, normalized):
    assert handle_normalize(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "+1",
        "12345",
        "+1415555012a",
        "not-an-email",
        "a@b",
        "x" * 300,
        "",
        "   ",
        "+15555550100",  # well-formed, but not a number that can exist
        "14155550123",  # E.164 needs its +
        "+1 415 555 0123",
        "a@@example.com",
        "@example.com",
        None,
        14155550123,
    ],
)
def test_invalid_handles_are_rejected(raw):
    with pytest.raises(DomainError) as error:
        handle_normalize(raw, field="to")
    assert error.value.code == "invalid_handle"
    assert error.value.status == 400
    assert error.value.fields == {"to": ["Not a valid E.164 phone number or email address."]}
