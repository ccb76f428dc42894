"""What can go wrong with webhook endpoints, by catalog code (contract.errors)."""

from __future__ import annotations

from contract.errors import DomainError


class InvalidUrl(DomainError):
    """Not a public http(s) endpoint."""

    code = "invalid_url"
