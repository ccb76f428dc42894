"""The per-key request budget of SPEC.md: 120 a minute by default, operators override it
per account and per key. Wired as DRF's default throttle in settings."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from accounts.selectors import rate_limit_for
from contract.ratelimit import rate_limit_consume


class ApiKeyRateThrottle(BaseThrottle):
    """Spend one request of the authenticating key's budget; 429 `rate_limited` when over."""

    # Read by the OpenAPI generator: what this throttle may answer.
    openapi_error_statuses = (429,)

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        rate_limit_consume(request._request, key=api_key.id, limit=rate_limit_for(api_key=api_key))
        return True
