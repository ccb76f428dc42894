from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contract.serializers import StrictInput, Timestamp
from webhooks.events import EVENT_TYPES

EVENT_CHOICES = ("*", *EVENT_TYPES)


@extend_schema_field({"type": "string", "enum": list(EVENT_CHOICES)})
class EventTypeField(serializers.CharField):
    """An event type or `*`: an enum in the document, checked by the service (which names
    the unknown ones in its 400)."""


class WebhookInput(StrictInput):
    url = serializers.CharField(max_length=2048, help_text="A public http(s) URL.")
    events = serializers.ListField(
        child=EventTypeField(),
        min_length=1,
        help_text=f'Event types to receive, or ["*"]: {", ".join(EVENT_TYPES)}.',
    )
    description = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )
    enabled = serializers.BooleanField(required=False, default=True)


class WebhookUpdateInput(StrictInput):
    url = serializers.CharField(max_length=2048, required=False)
    events = serializers.ListField(child=EventTypeField(), min_length=1, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(
        required=False, help_text="Set true to re-enable an endpoint that was disabled."
    )


class WebhookOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`whk_…`")
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    disabled_reason = serializers.SerializerMethodField()
    created_at = Timestamp()

    def get_disabled_reason(self, endpoint: object) -> str | None:
        return getattr(endpoint, "disabled_reason", "") or None


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(
        allow_null=True,
        help_text="`whsec_…`: verify signatures with it. Returned on create and rotate only; "
        "`null` when this response is an idempotent replay: a secret is never stored.",
    )


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    at = Timestamp()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(help_text="The first 2 KiB of the response body.")
    error = serializers.CharField(help_text="Why no answer came (timeout, refused, …).")
    succeeded = serializers.BooleanField()


class DeliveryOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`dlv_…`")
    webhook_id = serializers.CharField(source="endpoint_id")
    event_id = serializers.CharField(help_text="Also the `webhook-id` header: de-duplicate on it.")
    event_type = serializers.CharField(source="event.type")
    status = serializers.CharField(help_text="`pending`, `succeeded` or `failed` (gave up).")
    attempts = serializers.IntegerField()
    next_attempt_at = Timestamp(allow_null=True)
    created_at = Timestamp()
    finished_at = Timestamp(allow_null=True)
    attempt_log = AttemptOutput(many=True, source="attempt_log.all")
