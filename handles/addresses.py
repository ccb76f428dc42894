"""The one validation of a handle, used wherever one is accepted.

A handle is an E.164 phone number that `phonenumbers` says is a real, valid number, or an
email address (iMessage only), lower-cased. Anything else is 400 `invalid_handle`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from handles.errors import InvalidHandle

MAX_LENGTH = 254
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    rf"@{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,63}}$"
)


def is_email(handle: str) -> bool:
    return "@" in handle


def _normalize(raw: object) -> str | None:
    return _normalize_text(raw) if isinstance(raw, str) else None


# A pure function of its text, and `phonenumbers` is a good part of a send's validation:
# the numbers an account writes to again and again are worked out once per process.
@lru_cache(maxsize=8192)
def _normalize_text(raw: str) -> str | None:
    value = raw.strip()
    if not value or len(value) > MAX_LENGTH:
        return None
    if "@" in value:
        value = value.lower()
        local = value.rsplit("@", 1)[0]
        return value if len(local) <= 64 and _EMAIL.match(value) else None
    if not _E164.match(value):
        return None
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def handle_normalize(raw: object, *, field: str = "handle") -> str:
    """The canonical form of `raw`, or 400 `invalid_handle` naming `field`."""
    normalized = _normalize(raw)
    if normalized is None:
        shown = raw if isinstance(raw, str) and len(raw) <= 40 else "the value"
        raise InvalidHandle(
            f"{field}: {shown!r} is not a valid E.164 phone number or iMessage email."
            if shown != "the value"
            else f"{field} is not a valid E.164 phone number or iMessage email.",
            fields={field: ["Not a valid E.164 phone number or email address."]},
        )
    return normalized
