"""The event outbox: every event an account will be told about, written with its cause."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Account
from contract.ids import new_id


def new_event_id() -> str:
    return new_id("evt")


class Event(models.Model):
    """One thing that happened (`message.sent`, `handle.offline`, …), with its object."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    # What the event is about (a message or chat id, a handle's address): to find a
    # message's deliveries without reading every event's data.
    subject = models.CharField(max_length=254, blank=True, default="")
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    fanned_out_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its deliveries were made: when it was published (None: not yet).",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="event_page"),
            models.Index(fields=["account", "type", "-created_at"], name="event_type"),
            models.Index(fields=["account", "subject"], name="event_subject"),
            # The sweep's "published without deliveries" (older versions only): tiny.
            models.Index(
                fields=["created_at"],
                condition=models.Q(fanned_out_at__isnull=True),
                name="event_not_fanned_out",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


def new_endpoint_id() -> str:
    return new_id("whk")


def new_delivery_id() -> str:
    return new_id("dlv")


class WebhookEndpoint(models.Model):
    """Where an account wants its events POSTed, and the secret they are signed with."""

    id = models.CharField(primary_key=True, max_length=40, default=new_endpoint_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2048)
    events = models.JSONField(help_text='Event types, or ["*"] for all.')
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # Kept in full: signing needs it. Shown to the owner on create and rotate only.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="webhook_page"),
            # The operators' overview (monitoring.selectors): endpoints failing or disabled.
            models.Index(
                fields=["failing_since"],
                condition=models.Q(failing_since__isnull=False) | models.Q(enabled=False),
                name="webhook_troubled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.id})"

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint: retried on its schedule until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.CharField(primary_key=True, max_length=40, default=new_delivery_id, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When it is due (or when a running attempt's lease ends)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="delivery_page"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
            # A drain's claim: one endpoint's due deliveries, oldest due first.
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_endpoint_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One POST to an endpoint: what it answered, how long it took. Never edited."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True, help_text="The first 2 KiB of the body.")
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
