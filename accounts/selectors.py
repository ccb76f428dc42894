"""Reads of accounts and keys."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Account, ApiKey
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
