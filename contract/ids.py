"""Opaque, prefixed, random ids (`acct_…`, `key_…`, `msg_…`): never sequential; and what
cannot be one of them, so a lookup of it is a 404 before any query."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping

_ALPHABET = string.ascii_letters + string.digits


# The largest multiple of 62 a byte can hold: bytes below it map to characters uniformly.
_UNIFORM_BELOW = 256 - 256 % len(_ALPHABET)


def random_token(length: int) -> str:
    """`length` base62 characters, uniformly from the OS's CSPRNG (one read for all of them,
    not one per character: ids are made on every send)."""
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(
            _ALPHABET[byte % len(_ALPHABET)]
            for byte in secrets.token_bytes(length + 8)
            if byte < _UNIFORM_BELOW
        )
    return "".join(chars[:length])


def new_id(prefix: str) -> str:
    """Return `<prefix>_` and 24 base62 characters (~143 bits of randomness)."""
    return f"{prefix}_{random_token(24)}"


# Every id we issue: a lowercase prefix, "_", base62; stored in 40-character columns.
_OBJECT_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9]{1,36}")
MAX_ID_LENGTH = 40


def is_object_id(value: str) -> bool:
    """Whether `value` is shaped like one of our ids: a value that is not names no row."""
    return len(value) <= MAX_ID_LENGTH and _OBJECT_ID.fullmatch(value) is not None


def names_nothing(path_parameters: Mapping[str, object]) -> bool:
    """Whether a URL's parameters cannot name anything stored, so the answer is 404 at once.

    An `…_id` not shaped like our ids, or any text with a NUL (PostgreSQL refuses NUL in a
    query, which would otherwise surface as a 500), names nothing.
    """
    for name, value in path_parameters.items():
        if not isinstance(value, str):
            continue
        if "\x00" in value or (name.endswith("_id") and not is_object_id(value)):
            return True
    return False
