"""Reads of accounts and keys.

An API key that authenticated in this process is remembered for
`SWITCHBOARD_API_KEY_CACHE_SECONDS` (default 5) with its account: a key revoked, an account
deactivated or a budget changed in another process takes effect here within that window;
in the process that made the change (`accounts.services`), at once.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.db.models import Case, QuerySet, Value, When

from accounts.models import Account, ApiKey, IdempotencyRecord, Membership
from accounts.tenancy import get_owned


def secret_hash(secret: str) -> str:
    """SHA-256 of a high-entropy secret; a slow hash buys nothing for 190-bit keys."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def api_key_get_by_secret(*, secret: str) -> ApiKey | None:
    """The unrevoked key with this secret (and its account), or None."""
    if not secret.startswith("sk_live_") or len(secret) > 200:
        return None
    return (
        ApiKey.objects.select_related("account")
        .filter(secret_hash=secret_hash(secret), revoked_at__isnull=True)
        .first()
    )


# Bounded so a process that saw many keys does not grow without end: past it, start afresh.
_REMEMBERED_MAX = 10_000
# secret hash -> (remembered at, key); the wall clock, bounded both ways, so a clock that
# moves back never stretches the window.
_remembered: dict[str, tuple[float, ApiKey]] = {}


def _api_key_cache_seconds() -> float:
    return float(settings.SWITCHBOARD_API_KEY_CACHE_SECONDS)


def api_key_remembered(*, secret: str) -> ApiKey | None:
    """The key of this secret if it authenticated here within the cache window; no I/O."""
    entry = _remembered.get(secret_hash(secret))
    if entry is None or not 0 <= time.time() - entry[0] < _api_key_cache_seconds():
        return None
    return entry[1]


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The unrevoked key with this secret, from the database, remembered for the window."""
    api_key = api_key_get_by_secret(secret=secret)
    window = _api_key_cache_seconds()
    if api_key is not None and window > 0:
        if len(_remembered) >= _REMEMBERED_MAX:
            _remembered.clear()
        _remembered[api_key.secret_hash] = (time.time(), api_key)
    return api_key


def api_keys_forget() -> None:
    """Forget every remembered key: a key, its account or a budget just changed here."""
    _remembered.clear()


def rate_limit_for(*, api_key: ApiKey) -> int:
    """Requests per minute for this key: its own override, else its account's, else default."""
    if api_key.rate_limit_per_minute is not None:
        return api_key.rate_limit_per_minute
    return account_rate_limit(account=api_key.account)


def account_rate_limit(*, account: Account) -> int:
    if account.rate_limit_per_minute is not None:
        return account.rate_limit_per_minute
    return int(settings.SWITCHBOARD_DEFAULT_RATE_LIMIT)


def api_key_list(*, account: Account) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(account=account).select_related("account")


def api_key_get(*, account: Account, key_id: str) -> ApiKey:
    return get_owned(ApiKey.objects.select_related("account"), account=account, pk=key_id)


def member_list(*, account: Account) -> QuerySet[Membership]:
    """The account's members with their users, owners first, then by email."""
    role_rank = Case(
        When(role=Membership.Role.OWNER, then=Value(0)),
        When(role=Membership.Role.DEVELOPER, then=Value(1)),
        default=Value(2),
    )
    return (
        Membership.objects.filter(account=account)
        .select_related("user")
        .order_by(role_rank, "user__email", "pk")
    )


def member_get(*, account: Account, membership_id: int) -> Membership:
    """A member of `account`; `not_found` whether missing or another account's."""
    return get_owned(
        Membership.objects.select_related("user", "account"),
        account=account,
        pk=str(membership_id),
    )


def form_submission_result(*, account: Account, key: str) -> str | None:
    """What a dashboard form submission made, if it was already handled (see
    `services.form_submission_record`)."""
    record = IdempotencyRecord.objects.filter(account=account, key="dashboard:" + key).first()
    return None if record is None else bytes(record.body).decode()
