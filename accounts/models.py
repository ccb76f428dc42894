"""Tenants, the people in them, their API keys, stored idempotent responses, and the audit log
of what operators did (kept here, at the bottom layer, so every app's admin can write it)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from contract.ids import new_id


def new_account_id() -> str:
    return new_id("acct")


def new_api_key_id() -> str:
    return new_id("key")


class Account(models.Model):
    """A tenant: everything a customer owns hangs off one account."""

    id = models.CharField(primary_key=True, max_length=40, default=new_account_id, editable=False)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="API requests per minute per key; empty = default."
    )
    # Compliance (docs/compliance.md): the replies to the keywords, sent from the handle that
    # received them; empty sends nothing.
    help_reply = models.TextField(blank=True, help_text="Answer to HELP; empty = no answer.")
    opt_out_reply = models.TextField(blank=True, help_text="Confirmation of STOP; empty = none.")
    opt_in_reply = models.TextField(blank=True, help_text="Confirmation of START; empty = none.")
    # Whether a group send goes out when one of its members has opted out of this account.
    group_opt_outs_allowed = models.BooleanField(
        default=False, help_text="Send to groups that include an opted-out member."
    )
    # Whether a handle whose line health turns critical stops messaging new contacts.
    health_auto_pause = models.BooleanField(
        default=True, help_text="Hold new-contact sends of a handle in critical health."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Membership(models.Model):
    """A person in an account, with a role: what they may do in its dashboard."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"  # everything, members and the account included
        DEVELOPER = "developer", "Developer"  # keys, webhooks, messages
        VIEWER = "viewer", "Viewer"  # reads only

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account_id} ({self.role})"


class ApiKey(models.Model):
    """A secret API key: only its SHA-256 is stored; the key itself is shown once."""

    id = models.CharField(primary_key=True, max_length=40, default=new_api_key_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, help_text="The first characters, for display.")
    secret_hash = models.CharField(max_length=64, unique=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the account's limit for this key."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="apikey_page")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.id})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IdempotencyRecord(models.Model):
    """The stored response of a request made with an Idempotency-Key, kept 24 hours."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=200)
    body = models.BinaryField()
    request_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class AuditEntry(models.Model):
    """One thing an operator did, in admin or with a command: who, when, to what, and why.

    Written in the transaction of the change it records, never edited afterwards. The account
    and the operator are kept by reference and by name, so the row outlives both.
    """

    COMMAND_LINE = "command-line"
    # What operators do (docs/operations.md, "The audit trail"); the log's action filter.
    ACTIONS = (
        "add",
        "change",
        "delete",
        "account.activate",
        "account.suspend",
        "account.rate_limit",
        "api_key.create",
        "api_key.revoke",
        "api_key.rate_limit",
        "membership.add",
        "handle.assign",
        "handle.move",
        "handle.pause",
        "handle.resume",
        "device.attach",
        "message.retry",
        "message.cancel",
        "webhook_delivery.redeliver",
        "webhook_endpoint.enable",
    )

    at = models.DateTimeField(default=timezone.now)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    operator_name = models.CharField(max_length=254, help_text='A username, or "command-line".')
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=100, help_text="app_label.model")
    object_id = models.CharField(max_length=254)
    object_repr = models.CharField(max_length=300)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        help_text="The account the object belongs to, where it belongs to one.",
    )
    changes = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="field: [before, after]"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_recent"),
            models.Index(fields=["account", "-at"], name="audit_by_account"),
            models.Index(fields=["action", "-at"], name="audit_by_action"),
            models.Index(fields=["operator_name", "-at"], name="audit_by_operator"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_name} {self.action} {self.object_repr}"
