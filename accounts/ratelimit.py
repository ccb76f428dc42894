"""The per-key request budget of SPEC.md: 120 a minute by default, operators override it
per account and per key. Wired as DRF's default throttle in settings.

On Redis, everything a request spends or takes before its work is one round trip (a Lua
script, `_ADMIT`): the failed-authentication check its remembered key skipped
(`contract.auth`), one request of the key's budget, one API call in the account's daily
count, and its Idempotency-Key's lock (`accounts.idempotency`). Each is the same counter or
key, with the same meaning, as the one-call-each path the embedded cache takes.
"""

from __future__ import annotations

import time
from datetime import UTC, date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.idempotency import idempotency_lock_noted, idempotency_lock_wanted
from accounts.models import ApiKey
from accounts.selectors import rate_limit_for
from contract.errors import Unavailable
from contract.ratelimit import (
    API_GROUP,
    budget,
    failed_auth_budget,
    failed_auth_check_deferred,
    failed_auth_deferred_done,
    failed_auth_is_deferred,
    failed_auth_limit,
    failed_auth_refuse,
    rate_limit_consume,
    rate_limit_counted,
)
from contract.request_id import current_request_id
from contract.shared_redis import cache_key, run_script, shared_redis

USAGE_KEPT_SECONDS = 2 * 24 * 3600

# KEYS: the address's failed authentications, the key's budget, the account's calls of the
# day, the Idempotency-Key's lock. ARGV: check the failures (1/0), their limit, the budget's
# expiry, its limit, the day count's expiry, take the lock (1/0), its value (taken at, then
# the request id), its seconds, now.
# Returns {outcome, count, locked}: outcome 0 admitted (count = the budget spent), 1 the
# address is over its failures (count = them), 2 over the budget; nothing is spent or taken
# past a refusal.
_ADMIT = """
if ARGV[1] == '1' then
  local failed = tonumber(redis.call('GET', KEYS[1])) or 0
  if failed >= tonumber(ARGV[2]) then return {1, failed, 0} end
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if count > tonumber(ARGV[4]) then return {2, count, 0} end
if redis.call('INCR', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], ARGV[5]) end
local locked = 0
if ARGV[6] == '1' then
  if redis.call('SET', KEYS[4], ARGV[7], 'NX', 'EX', ARGV[8]) then
    locked = 1
  else
    -- Held since longer than a lock lives by the web's clock (ARGV[9]; Redis's may lag
    -- it): stale, taken over.
    local since = tonumber(string.match(redis.call('GET', KEYS[4]) or '', '^(%S+)'))
    if since and since + tonumber(ARGV[8]) <= tonumber(ARGV[9]) then
      redis.call('SET', KEYS[4], ARGV[7], 'EX', ARGV[8])
      locked = 1
    end
  end
end
return {0, count, locked}
"""


class ApiKeyRateThrottle(BaseThrottle):
    """Spend one request of the authenticating key's budget; 429 `rate_limited` when over."""

    # Read by the OpenAPI generator: what this throttle may answer.
    openapi_error_statuses = (429,)

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return True
        limit = rate_limit_for(api_key=api_key)
        if shared_redis() is None or not settings.RATELIMIT_ENABLE:
            failed_auth_check_deferred(request)
            rate_limit_consume(request._request, key=api_key.id, limit=limit)
            api_call_count(account_id=api_key.account_id)
            return True
        _admit(request, view, api_key=api_key, limit=limit)
        return True


def _admit(request: Request, view: Any, *, api_key: ApiKey, limit: int) -> None:
    """The one round trip of `_ADMIT`, and what its answer means for the request."""
    check_failures = failed_auth_is_deferred(request)
    failures = failed_auth_budget(request)
    spent = budget(group=API_GROUP, key=api_key.id, limit=limit)
    lock_key = idempotency_lock_wanted(request, view, account_id=api_key.account_id)
    day = timezone.now().astimezone(UTC).date()
    now = time.time()
    try:
        outcome, count, locked = run_script(
            _ADMIT,
            keys=[
                cache_key(failures.cache_key),
                cache_key(spent.cache_key),
                cache_key(_calls_key(api_key.account_id, day)),
                cache_key(lock_key or "idem-lock:none"),
            ],
            args=[
                int(check_failures),
                failed_auth_limit(),
                spent.expiry,
                limit,
                USAGE_KEPT_SECONDS,
                int(lock_key is not None),
                f"{now:.3f} {current_request_id()}",
                int(settings.SWITCHBOARD_IDEMPOTENCY_LOCK_SECONDS),
                f"{now:.3f}",
            ],
        )
    except RedisError as exc:
        raise Unavailable() from exc
    failed_auth_deferred_done(request)
    if outcome == 1:
        failed_auth_refuse(count=int(count), time_left=failures.time_left)
    if lock_key is not None and outcome == 0:
        idempotency_lock_noted(request, lock_key=lock_key, taken=bool(locked))
    rate_limit_counted(request._request, limit=limit, count=int(count), time_left=spent.time_left)


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


def api_calls_today_many(*, account_ids: list[str]) -> dict[str, int]:
    """`api_calls_today` of several accounts in one cache round trip."""
    day = timezone.now().astimezone(UTC).date()
    keys = {_calls_key(account_id, day): account_id for account_id in account_ids}
    found = cache.get_many(list(keys))
    return {account_id: int(found.get(key) or 0) for key, account_id in keys.items()}
