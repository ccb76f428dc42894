"""Request budgets on the shared cache (django-ratelimit's keys and windows), and their headers.

Counting is a Redis INCR, so a budget is exact across web processes and threads. The
window is django-ratelimit's fixed minute, offset per key so keys do not all reset at
once; the headers tell the client exactly when its window resets. What a budget belongs to
is the caller's business: `accounts.ratelimit` spends one per API key; failed
authentications spend one per client address here.

The failed-authentication check comes before any lookup of a secret in the database. A
secret the process already holds in memory (`SecretTokenAuthentication.remembered`) needs
no lookup: its check may be deferred (`failed_auth_defer`) so that it travels in the same
Redis round trip as the key's budget (`accounts.ratelimit`); whatever has not made it by
the end of `ApiView.initial` is made there (`failed_auth_check_deferred`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django_ratelimit import ALL
from django_ratelimit.core import _get_ip, _get_window, _make_cache_key, get_usage
from rest_framework.request import Request

from contract.errors import RateLimited, Unavailable

POLICY_NAME = "default"
WINDOW_SECONDS = 60
# Counters outlive their window by this much (django-ratelimit's EXPIRATION_FUDGE).
EXPIRY_MARGIN_SECONDS = 5
API_GROUP = "api"
FAILED_AUTH_GROUP = "auth-failed"
_DEFERRED = "failed_auth_deferred"


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


@dataclass(frozen=True)
class Budget:
    """Where a budget's count of this minute lives: its cache key (unprefixed), when the
    window ends (epoch seconds), and how long the counter should live."""

    cache_key: str
    window_end: int

    @property
    def time_left(self) -> int:
        return self.window_end - int(time.time())

    @property
    def expiry(self) -> int:
        return WINDOW_SECONDS + EXPIRY_MARGIN_SECONDS


def budget(*, group: str, key: str, limit: int) -> Budget:
    """The budget `key` spends in `group`, named exactly as django-ratelimit names it."""
    rate = f"{limit}/m"
    window = _get_window(key, WINDOW_SECONDS)
    return Budget(cache_key=_make_cache_key(group, window, rate, key, ALL), window_end=window)


def rate_limit_counted(
    request: HttpRequest, *, limit: int, count: int, time_left: int
) -> RateLimitState:
    """Record the request's place in its budget (for the headers); 429 when over it."""
    state = RateLimitState(limit=limit, remaining=max(0, limit - count), reset_in=max(1, time_left))
    request.rate_limit = state  # type: ignore[attr-defined]
    if count > limit:
        raise RateLimited(
            f"Rate limit of {limit} requests per minute exceeded; retry in {state.reset_in} s.",
            headers={"Retry-After": str(state.reset_in), **state.headers()},
        )
    return state


def rate_limit_consume(request: HttpRequest, *, key: str, limit: int) -> RateLimitState:
    """Count one request against `key`'s budget; raise 429 `rate_limited` when over."""
    usage = _usage(request, group=API_GROUP, key=key, limit=limit, increment=True)
    return rate_limit_counted(
        request, limit=limit, count=int(usage["count"]), time_left=int(usage["time_left"])
    )


def _client_ip(request: HttpRequest) -> str:
    # RATELIMIT_IP_META_KEY is contract.client_ip.client_ip; _get_ip adds the IPv6 /64 mask.
    return str(_get_ip(request))


def failed_auth_limit() -> int:
    return int(settings.SWITCHBOARD_FAILED_AUTH_PER_MINUTE)


def failed_auth_budget(request: Request | HttpRequest) -> Budget:
    """Where the client address's failed authentications of this minute are counted."""
    http_request = request._request if isinstance(request, Request) else request
    return budget(group=FAILED_AUTH_GROUP, key=_client_ip(http_request), limit=failed_auth_limit())


def failed_auth_refuse(*, count: int, time_left: int) -> None:
    """429 when the address has failed `count` times this minute, at or over the limit."""
    if count >= failed_auth_limit():
        retry = max(1, time_left)
        raise RateLimited(
            f"Too many failed authentications from this address; retry in {retry} s.",
            headers={"Retry-After": str(retry)},
        )


def failed_auth_check(request: Request) -> None:
    """Refuse, before any lookup, a client address that failed authentication too often."""
    usage = _usage(
        request._request,
        group=FAILED_AUTH_GROUP,
        key=_client_ip(request),
        limit=failed_auth_limit(),
        increment=False,
    )
    failed_auth_refuse(count=int(usage["count"]), time_left=int(usage["time_left"]))


def failed_auth_defer(request: Request) -> None:
    """Leave this request's check for later: no lookup was needed (see the module's note)."""
    setattr(request._request, _DEFERRED, True)


def failed_auth_is_deferred(request: Request | HttpRequest) -> bool:
    http_request = request._request if isinstance(request, Request) else request
    return bool(getattr(http_request, _DEFERRED, False))


def failed_auth_deferred_done(request: Request | HttpRequest) -> None:
    """The deferred check was made (by whoever could carry it in its own round trip)."""
    http_request = request._request if isinstance(request, Request) else request
    setattr(http_request, _DEFERRED, False)


def failed_auth_check_deferred(request: Request) -> None:
    """Make the deferred check, if it is still owed."""
    if failed_auth_is_deferred(request):
        failed_auth_deferred_done(request)
        failed_auth_check(request)


def failed_auth_record(request: Request) -> None:
    _usage(
        request._request,
        group=FAILED_AUTH_GROUP,
        key=_client_ip(request),
        limit=failed_auth_limit(),
        increment=True,
    )
