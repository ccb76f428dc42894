from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contract.serializers import StrictInput, Timestamp
from handles import registry
from handles.models import Channel


class HeartbeatInput(StrictInput):
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.values),
        max_length=3,
        required=False,
        default=list,
    )
    whatsapp_connected = serializers.BooleanField(required=False, default=False)
    version = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)


class HeartbeatOutput(serializers.Serializer):
    device_id = serializers.CharField()
    handle = serializers.CharField()
    status = serializers.CharField(help_text="Always `online`: this call made it so.")
    server_time = Timestamp()
    offline_after = serializers.IntegerField(
        help_text="Seconds without a call after which the handle is offline."
    )


class JobsQuery(StrictInput):
    wait = serializers.IntegerField(
        min_value=0,
        max_value=25,
        required=False,
        default=0,
        help_text="Seconds to wait for a job (0 to 25, default 0).",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        default=10,
        help_text="Most jobs to return (1 to 100, default 10).",
    )


class JobOutput(serializers.Serializer):
    job_id = serializers.CharField(source="id")
    kind = serializers.CharField(help_text="`send`, `edit`, `react`, `unsend`, `group_*`, …")
    payload = serializers.DictField()
    leased_until = Timestamp(help_text="Report the result before this, or it is handed out again.")
    deliveries = serializers.IntegerField(help_text="1 the first time; more after a lost lease.")
    created_at = Timestamp()


class JobErrorInput(StrictInput):
    code = serializers.CharField(max_length=64)
    message = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class JobResultInput(StrictInput):
    ok = serializers.BooleanField()
    upstream_id = serializers.CharField(
        max_length=200, required=False, allow_null=True, default=None
    )
    error = JobErrorInput(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["ok"] and not attrs.get("error"):
            raise serializers.ValidationError({"error": ["Required when ok is false."]})
        return attrs


class JobResultOutput(serializers.Serializer):
    job_id = serializers.CharField(source="job.id")
    status = serializers.CharField(source="job.status")
    duplicate = serializers.BooleanField(help_text="True when this result was already recorded.")


class JobResultItemInput(JobResultInput):
    job_id = serializers.CharField(max_length=40, help_text="The job this is the result of.")


class JobResultsInput(StrictInput):
    results = serializers.ListField(
        child=JobResultItemInput(),
        allow_empty=False,
        min_length=1,
        max_length=100,
        help_text="Up to 100 results, recorded in this order.",
    )


class JobResultsItemOutput(serializers.Serializer):
    job_id = serializers.CharField()
    outcome = serializers.ChoiceField(
        choices=["recorded", "duplicate", "conflict", "not_found"],
        help_text=(
            "`recorded`; `duplicate` (recorded before, nothing changed); `conflict` (this "
            "device does not hold the job: withdrawn, or leased to another); `not_found` (no "
            "such job of this handle). Only `recorded` and `duplicate` mean the job is done."
        ),
    )
    status = serializers.CharField(
        allow_null=True, help_text="The job's status now (null when not found)."
    )
    message = serializers.CharField(help_text="Why, for `conflict` and `not_found`; else empty.")


class DeviceEventInput(StrictInput):
    id = serializers.CharField(max_length=200, help_text="The device's own id of the event.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # The types are those apps registered handlers for, known once every app is ready.
        fields["type"] = serializers.ChoiceField(choices=registry.device_event_types())
        # `data` is a Serializer attribute, so the field is declared here, not on the class.
        fields["data"] = serializers.DictField(help_text="The event's content (see the docs).")
        return fields


class DeviceEventsInput(StrictInput):
    events = serializers.ListField(
        child=DeviceEventInput(), allow_empty=False, min_length=1, max_length=100
    )


class DeviceEventResult(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    duplicate = serializers.BooleanField(help_text="True when this event was already applied.")
