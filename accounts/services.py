"""Writes to accounts, members and keys: the operator CLI, admin and dashboard all come here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Account, ApiKey, AuditEntry, IdempotencyRecord, Membership
from accounts.selectors import api_keys_forget, secret_hash
from contract.errors import Conflict, InvalidRequest
from contract.ids import random_token
from contract.request_id import current_request_id

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
        member_add(account=account, email=owner_email, role=Membership.Role.OWNER)
    return account, api_key_create(account=account, name="Default key")


def account_rename(*, account: Account, name: str) -> Account:
    Account.objects.filter(pk=account.pk).update(name=name)
    api_keys_forget()
    account.name = name
    return account


def account_compliance_set(
    *,
    account: Account,
    opt_out_reply: str,
    opt_in_reply: str,
    help_reply: str,
    group_opt_outs_allowed: bool,
    health_auto_pause: bool | None = None,
) -> Account:
    """Set the replies to STOP, START and HELP (empty sends none), the group rule and, when
    given, whether a critical line holds its sends to new contacts."""
    account.opt_out_reply, account.opt_in_reply = opt_out_reply, opt_in_reply
    account.help_reply, account.group_opt_outs_allowed = help_reply, group_opt_outs_allowed
    fields = ["opt_out_reply", "opt_in_reply", "help_reply", "group_opt_outs_allowed"]
    if health_auto_pause is not None:
        account.health_auto_pause = health_auto_pause
        fields.append("health_auto_pause")
    account.save(update_fields=fields)
    return account


# --- members -------------------------------------------------------------------------


def _user_for(email: str, password: str | None) -> User:
    """The person with this email (made when new; their email is their username)."""
    user_model = User
    address = user_model.objects.normalize_email(email).strip().lower()
    user = user_model.objects.filter(email__iexact=address).first()
    if user is None:
        user = user_model(username=address, email=address)
        user.set_unusable_password()
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
    user.save()
    return user


def set_password_url(*, user: User) -> str:
    """A link that lets `user` choose a password, once (it dies when the password changes)."""
    path = reverse(
        "dashboard-set-password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.SWITCHBOARD_BASE_URL + path


@dataclass(frozen=True)
class AddedMember:
    membership: Membership
    # A one-time link to choose a password; None when the person already has one.
    invite_url: str | None


@transaction.atomic
def member_add(
    *, account: Account, email: str, role: str, password: str | None = None
) -> AddedMember:
    """Put the person with `email` in `account` with `role` (a new role if already there)."""
    if role not in Membership.Role.values:
        raise InvalidRequest(f"role must be one of {', '.join(Membership.Role.values)}.")
    user = _user_for(email, password)
    membership = Membership.objects.filter(account=account, user=user).first()
    if membership is None:
        membership = Membership.objects.create(account=account, user=user, role=role)
    elif membership.role != role:
        member_set_role(membership=membership, role=role)
    invite_url = None if user.has_usable_password() else set_password_url(user=user)
    return AddedMember(membership=membership, invite_url=invite_url)


def member_invite(*, account: Account, email: str, role: str, invited_by: str) -> AddedMember:
    """Add the person and email them the link to sign in (or to choose a password first)."""
    added = member_add(account=account, email=email, role=role)
    link = added.invite_url or settings.SWITCHBOARD_BASE_URL + reverse("dashboard-login")
    body = render_to_string(
        "accounts/email/invitation.txt",
        {"account": account, "invited_by": invited_by, "link": link, "role": role},
    )
    transaction.on_commit(
        lambda: send_mail(
            f"You are invited to {account.name} on Switchboard",
            body,
            None,
            [added.membership.user.email],
        )
    )
    return added


def _owners_left_without(membership: Membership) -> int:
    return (
        Membership.objects.filter(account_id=membership.account_id, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def member_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the account always keeps an owner."""
    if role not in Membership.Role.values:
        raise InvalidRequest(f"role must be one of {', '.join(Membership.Role.values)}.")
    Account.objects.select_for_update().filter(pk=membership.account_id).first()
    demoting = membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER
    if demoting and not _owners_left_without(membership):
        raise Conflict("An account keeps at least one owner.")
    Membership.objects.filter(pk=membership.pk).update(role=role)
    membership.role = role
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Take a person out of the account; the last owner stays."""
    Account.objects.select_for_update().filter(pk=membership.account_id).first()
    if membership.role == Membership.Role.OWNER and not _owners_left_without(membership):
        raise Conflict("An account keeps at least one owner.")
    membership.delete()


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke at once; revoking twice keeps the first revocation time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_keys_forget()  # other processes: within SWITCHBOARD_API_KEY_CACHE_SECONDS
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
    api_keys_forget()
    account.is_active = active
    return account


def account_set_rate_limit(*, account: Account, per_minute: int | None) -> Account:
    Account.objects.filter(pk=account.pk).update(rate_limit_per_minute=per_minute)
    api_keys_forget()
    account.rate_limit_per_minute = per_minute
    return account


def api_key_set_rate_limit(*, api_key: ApiKey, per_minute: int | None) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk).update(rate_limit_per_minute=per_minute)
    api_keys_forget()
    api_key.rate_limit_per_minute = per_minute
    return api_key


def idempotency_records_purge(*, older_than: timedelta) -> int:
    """Delete stored responses older than the retention; return how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


# --- one send per dashboard form ---------------------------------------------------------

_SUBMISSION = "dashboard:"


def form_submission_record(*, account: Account, key: str, result: str) -> None:
    """Remember what one dashboard form submission made (an id), for 24 hours like the API's
    Idempotency-Key: the same form sent twice makes it once. IntegrityError if already
    recorded (the caller's transaction then rolls back its duplicate work)."""
    IdempotencyRecord.objects.create(
        account=account,
        key=_SUBMISSION + key,
        fingerprint="",
        method="POST",
        path="dashboard",
        status_code=200,
        content_type="text/plain",
        body=result.encode(),
        request_id=current_request_id(),
    )


# --- the audit trail -----------------------------------------------------------------------


def _account_id_of(obj: models.Model) -> str | None:
    """The account an object belongs to, where it belongs to one (itself, for an account)."""
    if isinstance(obj, Account):
        return obj.pk
    account_id = getattr(obj, "account_id", None)
    if account_id is None and hasattr(obj, "endpoint_id"):  # a webhook delivery
        account_id = getattr(obj.endpoint, "account_id", None)  # type: ignore[attr-defined]
    if account_id is None and hasattr(obj, "handle_id"):  # a device, a job
        account_id = getattr(obj.handle, "account_id", None)  # type: ignore[attr-defined]
    return account_id


def audit_record(
    *,
    operator: Any,
    action: str,
    obj: models.Model,
    changes: dict[str, list[Any]] | None = None,
    reason: str = "",
    account_id: str | None = None,
) -> AuditEntry:
    """Record what an operator did to `obj`, in the caller's transaction.

    `operator` is the signed-in user, or None for a management command ("command-line");
    `changes` is `{field: [before, after]}` where known. The account is found from the
    object unless given (a handle moved away is recorded under the account it left).
    """
    signed_in = operator is not None and getattr(operator, "is_authenticated", False)
    return AuditEntry.objects.create(
        operator=operator if signed_in else None,
        operator_name=operator.get_username() if signed_in else AuditEntry.COMMAND_LINE,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        account_id=account_id if account_id is not None else _account_id_of(obj),
        changes=changes or {},
        reason=reason,
    )
