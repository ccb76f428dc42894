"""The event outbox: every event an account will be told about, written with its cause."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Account
from config.api.ids import new_id


def new_event_id() -> str:
    return new_id("evt")


class Event(models.Model):
    """One thing that happened (`message.sent`, `handle.offline`, …), with its object."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="event_page"),
            models.Index(fields=["account", "type", "-created_at"], name="event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
