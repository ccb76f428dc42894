"""Writes to accounts and keys: the operator CLI, admin and dashboard all come here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ApiKey, IdempotencyRecord, Membership
from accounts.selectors import secret_hash
from contract.ids import random_token

KEY_PREFIX = "sk_live_"
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedKey:
    """A freshly made key: the only time its secret exists outside the client."""

    api_key: ApiKey
    secret: str


def api_key_create(*, account: Account, name: str = "") -> IssuedKey:
    secret = KEY_PREFIX + random_token(32)
    api_key = ApiKey.objects.create(
        account=account,
        name=name,
        prefix=secret[: len(KEY_PREFIX) + 4],
        secret_hash=secret_hash(secret),
    )
    return IssuedKey(api_key=api_key, secret=secret)


@transaction.atomic
def account_create(
    *, name: str, owner_email: str | None = None, active: bool = True
) -> tuple[Account, IssuedKey]:
    """Create an account with a first API key, and its owner's membership when given."""
    account = Account.objects.create(name=name, is_active=active)
    if owner_email:
        user_model = get_user_model()
        email = user_model.objects.normalize_email(owner_email).lower()
        user = user_model.objects.filter(email__iexact=email).first()
        if user is None:
            user = user_model(username=email, email=email)
            user.set_unusable_password()
            user.save()
        Membership.objects.create(user=user, account=account, role=Membership.Role.OWNER)
    return account, api_key_create(account=account, name="Default key")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke at once; revoking twice keeps the first revocation time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record use, at most once a minute per key so a busy key is not a write per request."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def account_set_active(*, account: Account, active: bool) -> Account:
    Account.objects.filter(pk=account.pk).update(is_active=active)
    account.is_active = active
    return account


def account_set_rate_limit(*, account: Account, per_minute: int | None) -> Account:
    Account.objects.filter(pk=account.pk).update(rate_limit_per_minute=per_minute)
    account.rate_limit_per_minute = per_minute
    return account


def api_key_set_rate_limit(*, api_key: ApiKey, per_minute: int | None) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk).update(rate_limit_per_minute=per_minute)
    api_key.rate_limit_per_minute = per_minute
    return api_key


def idempotency_records_purge(*, older_than: timedelta) -> int:
    """Delete stored responses older than the retention; return how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
