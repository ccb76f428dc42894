"""The per-key request budget of SPEC.md: 120 a minute by default, operators override it
per account and per key. Wired as DRF's default throttle in settings."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from accounts.selectors import rate_limit_for
from contract.ratelimit import rate_limit_consume

USAGE_KEPT_SECONDS = 2 * 24 * 3600


class ApiKeyRateThrottle(BaseThrottle):
    """Spend one request of the authenticating key's budget; 429 `rate_limited` when over."""

    # Read by the OpenAPI generator: what this throttle may answer.
    openapi_error_statuses = (429,)

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        rate_limit_consume(request._request, key=api_key.id, limit=rate_limit_for(api_key=api_key))
        api_call_count(account_id=api_key.account_id)
        return True


def _calls_key(account_id: str, day: date) -> str:
    return f"usage:api:{account_id}:{day.isoformat()}"


def api_call_count(*, account_id: str) -> None:
    """Count a request in the account's API calls of the day (UTC), for its dashboard."""
    key = _calls_key(account_id, timezone.now().astimezone(UTC).date())
    try:
        cache.incr(key)
    except ValueError:  # the day's first call (two at once may both land here: one is lost)
        cache.add(key, 1, timeout=USAGE_KEPT_SECONDS)


def api_calls_today(*, account_id: str) -> int:
    key = _calls_key(account_id, timezone.now().astimezone(UTC).date())
    return int(cache.get(key) or 0)
