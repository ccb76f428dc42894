from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contract.serializers import Timestamp
from handles.models import Handle, RecipientCapability
from handles.selectors import is_online


class PacingOutput(serializers.Serializer):
    per_minute = serializers.IntegerField()
    burst = serializers.IntegerField()


class NewContactsOutput(serializers.Serializer):
    used = serializers.IntegerField(
        help_text="Recipients it messaged for the first time in the last 24 hours."
    )
    budget = serializers.IntegerField(
        allow_null=True, help_text="How many it may per rolling 24 hours; null is no limit."
    )
    resets_at = Timestamp(
        allow_null=True,
        help_text="With none left: when a slot frees (the rolling window moves on). Null "
        "otherwise.",
    )


# Named in the OpenAPI document by settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
HEALTH_STATES = ["healthy", "at_risk", "critical"]
HEALTH_LEVELS = ["at_risk", "critical"]
HEALTH_REASON_CODES = [
    "failure_rate",
    "not_registered_rate",
    "device_errors",
    "opt_out_rate",
    "unanswered_rate",
]


class HealthReasonOutput(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=HEALTH_REASON_CODES,
        help_text='Which signal (docs/compliance.md, "Line health").',
    )
    level = serializers.ChoiceField(choices=HEALTH_LEVELS)
    value = serializers.FloatField(help_text="The signal's value: a rate (0-1) or a count.")
    threshold = serializers.FloatField(help_text="The threshold of `level` it reached.")
    message = serializers.CharField(help_text="The same, for people.")


class HealthOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        source="health",
        choices=HEALTH_STATES,
        help_text="Line health from its recent outcomes and signals. At `critical` (and the "
        "account's `health_auto_pause`) sends to new contacts are held, `scheduled` with "
        "`reason: line_health`; conversations go on.",
    )
    reasons = HealthReasonOutput(source="health_reasons", many=True)
    changed_at = Timestamp(
        source="health_changed_at", allow_null=True, help_text="When the state last changed."
    )


class HandleOutput(serializers.Serializer):
    handle = serializers.CharField(source="address", help_text="E.164 number or email.")
    channels = serializers.ListField(child=serializers.CharField())
    status = serializers.SerializerMethodField(help_text="`online` or `offline`.")
    last_seen_at = Timestamp(allow_null=True, help_text="Last call of the handle's device.")
    whatsapp_connected = serializers.BooleanField(
        default=False, help_text="Whether the device reports a connected WhatsApp session."
    )
    pacing = PacingOutput(source="*", help_text="How fast this handle sends.")
    queue_depth = serializers.SerializerMethodField(help_text="Messages waiting to go out.")
    health = HealthOutput(source="*", help_text="Its line health (docs/compliance.md).")
    paused = serializers.BooleanField(
        help_text="An operator paused the handle: its messages wait, queued, until it resumes."
    )
    new_contacts = serializers.SerializerMethodField(
        help_text="Its new-contact budget: recipients it has never messaged, per rolling 24 "
        "hours (docs/compliance.md). Sends past it are held, `scheduled`, until it renews."
    )
    created_at = Timestamp()

    def get_status(self, handle: Handle) -> str:
        return "online" if is_online(getattr(handle, "last_seen_at", None)) else "offline"

    @extend_schema_field(NewContactsOutput)
    def get_new_contacts(self, handle: Handle) -> dict[str, Any]:
        usage: dict[int, dict[str, Any]] = self.context.get("new_contacts", {})
        found = usage.get(handle.pk) or {
            "used": 0,
            "budget": handle.new_contact_budget,
            "resets_at": None,
        }
        return dict(NewContactsOutput(found).data)

    def get_queue_depth(self, handle: Handle) -> int:
        depths: dict[int, int] = self.context.get("queue_depths", {})
        return depths.get(handle.pk, 0)


class LookupOutput(serializers.Serializer):
    handle = serializers.CharField()
    imessage = serializers.BooleanField(
        allow_null=True, help_text="Reachable on iMessage; null when no device has checked."
    )
    whatsapp = serializers.BooleanField(allow_null=True)
    checked_at = Timestamp(allow_null=True)

    @staticmethod
    def of(address: str, capability: RecipientCapability | None) -> dict[str, Any]:
        return {
            "handle": address,
            "imessage": capability.imessage if capability else None,
            "whatsapp": capability.whatsapp if capability else None,
            "checked_at": capability.checked_at if capability else None,
        }
