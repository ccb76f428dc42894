"""Per-key request limits on the shared cache (django-ratelimit), and their headers.

Counting is a Redis INCR, so the budget is exact across web processes and threads. The
window is django-ratelimit's fixed minute, offset per key so keys do not all reset at
once; the headers tell the client exactly when its window resets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.api.errors import ApiError

POLICY_NAME = "default"
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_in: int

    def headers(self) -> dict[str, str]:
        reset_at = int(time.time()) + self.reset_in
        return {
            "RateLimit-Policy": f'"{POLICY_NAME}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{POLICY_NAME}";r={self.remaining};t={self.reset_in}',
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(reset_at),
        }


def apply_rate_limit_headers(request: HttpRequest, response: HttpResponseBase) -> None:
    """Add the rate-limit headers of this request's budget, if it was counted."""
    state = getattr(request, "rate_limit", None)
    if state is not None:
        for name, value in state.headers().items():
            response.headers.setdefault(name, value)


def _usage(
    request: HttpRequest, *, group: str, key: str, limit: int, increment: bool
) -> dict[str, Any]:
    usage = get_usage(
        request,
        group=group,
        key=lambda _group, _request: key,
        rate=f"{limit}/m",
        increment=increment,
    )
    if usage is None:  # RATELIMIT_ENABLE is off
        return {"count": 0, "limit": limit, "should_limit": False, "time_left": WINDOW_SECONDS}
    if usage["limit"] == 0:
        # django-ratelimit's way of saying the cache did not answer.
        raise ApiError("unavailable")
    return dict(usage)


def rate_limit_consume(request: HttpRequest, *, key_id: str, limit: int) -> RateLimitState:
    """Count one request against the key's budget; raise 429 `rate_limited` when over."""
    usage = _usage(request, group="api", key=key_id, limit=limit, increment=True)
    state = RateLimitState(
        limit=limit,
        remaining=max(0, limit - int(usage["count"])),
        reset_in=max(1, int(usage["time_left"])),
    )
    request.rate_limit = state  # type: ignore[attr-defined]
    if usage["should_limit"]:
        raise ApiError(
            "rate_limited",
            f"Rate limit of {limit} requests per minute exceeded; retry in {state.reset_in} s.",
            headers={"Retry-After": str(state.reset_in), **state.headers()},
        )
    return state


def _client_ip(request: HttpRequest) -> str:
    from django_ratelimit.core import _get_ip

    return str(_get_ip(request))


def failed_auth_check(request: Request) -> None:
    """Refuse, before any lookup, a client address that failed authentication too often."""
    limit = int(settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE)
    usage = _usage(
        request._request, group="auth-failed", key=_client_ip(request), limit=limit, increment=False
    )
    if int(usage["count"]) >= limit:
        retry = max(1, int(usage["time_left"]))
        raise ApiError(
            "rate_limited",
            f"Too many failed authentications from this address; retry in {retry} s.",
            headers={"Retry-After": str(retry)},
        )


def failed_auth_record(request: Request) -> None:
    limit = int(settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE)
    _usage(
        request._request, group="auth-failed", key=_client_ip(request), limit=limit, increment=True
    )


class ApiKeyRateThrottle(BaseThrottle):
    """DRF throttle: the per-key budget of SPEC.md (default 120/min, operator overrides)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        from accounts.models import ApiKey
        from accounts.selectors import rate_limit_for

        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        rate_limit_consume(
            request._request, key_id=api_key.id, limit=rate_limit_for(api_key=api_key)
        )
        return True
