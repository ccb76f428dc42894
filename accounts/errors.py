"""What can go wrong with an account's requests, by catalog code (contract.errors)."""

from __future__ import annotations

from contract.errors import DomainError


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
