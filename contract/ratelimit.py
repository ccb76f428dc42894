"""Request budgets on the shared cache (django-ratelimit), and their headers.

Counting is a Redis INCR, so a budget is exact across web processes and threads. The
window is django-ratelimit's fixed minute, offset per key so keys do not all reset at
once; the headers tell the client exactly when its window resets. What a budget belongs to
is the caller's business: `accounts.ratelimit` spends one per API key; failed
authentications spend one per client address here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django_ratelimit.core import _get_ip, get_usage
from rest_framework.request import Request

from contract.errors import RateLimited, Unavailable

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
        raise Unavailable()
    return dict(usage)


def rate_limit_consume(request: HttpRequest, *, key: str, limit: int) -> RateLimitState:
    """Count one request against `key`'s budget; raise 429 `rate_limited` when over."""
    usage = _usage(request, group="api", key=key, limit=limit, increment=True)
    state = RateLimitState(
        limit=limit,
        remaining=max(0, limit - int(usage["count"])),
        reset_in=max(1, int(usage["time_left"])),
    )
    request.rate_limit = state  # type: ignore[attr-defined]
    if usage["should_limit"]:
        raise RateLimited(
            f"Rate limit of {limit} requests per minute exceeded; retry in {state.reset_in} s.",
            headers={"Retry-After": str(state.reset_in), **state.headers()},
        )
    return state


def _client_ip(request: HttpRequest) -> str:
    # RATELIMIT_IP_META_KEY is contract.client_ip.client_ip; _get_ip adds the IPv6 /64 mask.
    return str(_get_ip(request))


def failed_auth_check(request: Request) -> None:
    """Refuse, before any lookup, a client address that failed authentication too often."""
    limit = int(settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE)
    usage = _usage(
        request._request, group="auth-failed", key=_client_ip(request), limit=limit, increment=False
    )
    if int(usage["count"]) >= limit:
        retry = max(1, int(usage["time_left"]))
        raise RateLimited(
            f"Too many failed authentications from this address; retry in {retry} s.",
            headers={"Retry-After": str(retry)},
        )


def failed_auth_record(request: Request) -> None:
    limit = int(settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE)
    _usage(
        request._request, group="auth-failed", key=_client_ip(request), limit=limit, increment=True
    )
