"""Opaque, prefixed, random ids (`acct_…`, `key_…`, `msg_…`): never sequential."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """Return `<prefix>_` and 24 base62 characters (~143 bits of randomness)."""
    return f"{prefix}_{random_token(24)}"
