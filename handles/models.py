"""Sending handles, the devices that relay them, and the jobs and events between the two."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import Account
from contract.ids import new_id


class Channel(models.TextChoices):
    """How a message travels; a handle sends on some of these, a message on one."""

    IMESSAGE = "imessage", "iMessage"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"


def default_channels() -> list[str]:
    return [Channel.IMESSAGE.value, Channel.SMS.value]


def new_device_id() -> str:
    return new_id("dev")


def new_job_id() -> str:
    return new_id("job")


class Handle(models.Model):
    """A sending address (E.164 number or iMessage email), assigned to at most one account."""

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Offline"

    class Health(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        AT_RISK = "at_risk", "At risk"
        CRITICAL = "critical", "Critical"

    address = models.CharField(max_length=254, unique=True, help_text="Normalized handle.")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="handles"
    )
    channels = models.JSONField(default=default_channels)
    per_minute = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="Messages per minute."
    )
    burst = models.PositiveIntegerField(
        default=5, validators=[MinValueValidator(1)], help_text="Messages allowed at once."
    )
    # The last status announced (by event); the API derives the live one from last_seen_at.
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OFFLINE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # An operator's hold: the dispatcher hands a paused handle's device nothing; its messages
    # wait, queued, and their time to live does not run (see handles.services.handle_pause).
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Recipients it has never messaged that it may message per rolling 24 hours; NULL is no
    # limit (docs/compliance.md). Set by operators.
    new_contact_budget = models.PositiveIntegerField(
        null=True, blank=True, default=50, help_text="New recipients per 24 h; empty = no limit."
    )
    # Line health, from its recent outcomes and signals (docs/compliance.md); the reasons say
    # which signal put it there. Outcomes before `health_cleared_at` (an operator's clear) no
    # longer count.
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.HEALTHY)
    health_reasons = models.JSONField(default=list, blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    health_cleared_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="handle_page")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(per_minute__gte=1, burst__gte=1), name="handle_pace_positive"
            )
        ]

    def __str__(self) -> str:
        return self.address


class Device(models.Model):
    """An agent (a Mac relay, a WhatsApp session, the simulator) relaying one handle."""

    id = models.CharField(primary_key=True, max_length=40, default=new_device_id, editable=False)
    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=200, blank=True)
    simulated = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=16)
    channels = models.JSONField(default=list, help_text="Channels the device last reported.")
    whatsapp_connected = models.BooleanField(default=False)
    version = models.CharField(max_length=64, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One live device per handle: attaching a new one retires the previous.
            models.UniqueConstraint(
                fields=["handle"],
                condition=models.Q(revoked_at__isnull=True),
                name="device_one_live_per_handle",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.handle_id})"


class HandleStatusChange(models.Model):
    """Append-only history of a handle going online or offline."""

    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=8, choices=Handle.Status.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.handle_id} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Job(models.Model):
    """Work for a handle's device. The table is the record; the lease makes it at-least-once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        LEASED = "leased", "Leased"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    id = models.CharField(primary_key=True, max_length=40, default=new_job_id, editable=False)
    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    leased_until = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0, help_text="Times handed to a device.")
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["handle", "created_at"],
                condition=models.Q(status__in=["pending", "leased"]),
                name="job_open_by_handle",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class DeviceEvent(models.Model):
    """An event a device pushed, kept by the device's own id so a repeat changes nothing."""

    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="device_events")
    external_id = models.CharField(max_length=200)
    type = models.CharField(max_length=40)
    data = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["handle", "external_id"], name="device_event_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.external_id}"


class RecipientCapability(models.Model):
    """Whether a recipient is reachable on iMessage / WhatsApp, as an account's devices saw it.

    Kept per account: what one tenant's devices learned is not shown to another tenant.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=254)
    imessage = models.BooleanField(null=True)
    whatsapp = models.BooleanField(null=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "recipient capabilities"
        constraints = [
            models.UniqueConstraint(fields=["account", "address"], name="capability_unique")
        ]

    def __str__(self) -> str:
        return f"{self.address} in {self.account_id}"
