"""Operators' view of the outbox, endpoints and deliveries: filter, search, redeliver,
re-enable a disabled endpoint. Each action writes an audit row in its transaction."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.operator_admin import OperatorAdmin, ReadOnlyOperatorAdmin, values_filter
from accounts.services import audit_record
from webhooks import services
from webhooks.events import EVENT_TYPES
from webhooks.models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint


@admin.register(Event)
class EventAdmin(ReadOnlyOperatorAdmin):
    list_display = ("id", "type", "account", "created_at", "fanned_out_at")
    list_filter = (values_filter("type", title="type", known=lambda: EVENT_TYPES),)
    list_select_related = ("account",)
    search_fields = ("id", "account__id")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OperatorAdmin):
    list_display = ("id", "url", "account", "enabled", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("account",)
    search_fields = ("id", "url", "account__id", "account__name")
    exclude = ("secret", "previous_secret")
    # The URL is the owner's, checked against private addresses when they set it through
    # the API or the dashboard; an operator's form would skip that check.
    readonly_fields = ("id", "account", "url", "failing_since", "created_at")
    actions = ("reenable",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the owner creates endpoints (and receives the secret) through the API

    @admin.action(description="Re-enable selected disabled endpoints", permissions=["change"])
    def reenable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        enabled = 0
        for endpoint in queryset.filter(enabled=False):
            reason = endpoint.disabled_reason
            with transaction.atomic():
                services.webhook_endpoint_update(endpoint=endpoint, enabled=True)
                audit_record(
                    operator=request.user,
                    action="webhook_endpoint.enable",
                    obj=endpoint,
                    changes={"enabled": [False, True], "disabled_reason": [reason, ""]},
                )
            enabled += 1
        self.message_user(request, f"{enabled} endpoint(s) enabled again.", messages.SUCCESS)


class AttemptInline(admin.TabularInline[DeliveryAttempt, WebhookDelivery]):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "number",
        "at",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
        "succeeded",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyOperatorAdmin):
    list_display = ("id", "endpoint", "event_type", "status", "attempts", "next_attempt_at")
    list_filter = (
        "status",
        values_filter("event__type", title="event type", known=lambda: EVENT_TYPES),
        "endpoint",
    )
    list_select_related = ("endpoint", "event")
    search_fields = ("id", "event__id", "endpoint__id", "endpoint__url")
    inlines = (AttemptInline,)
    actions = ("redeliver",)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        # The list is read-only (no one edits a delivery), yet sending one again is a change.
        return request.user.has_perm("webhooks.change_webhookdelivery")

    @admin.display(description="event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        redelivered = 0
        for delivery in queryset.select_related("endpoint"):
            with transaction.atomic():
                before = delivery.status
                services.webhook_redeliver(delivery=delivery)
                audit_record(
                    operator=request.user,
                    action="webhook_delivery.redeliver",
                    obj=delivery,
                    changes={"status": [before, delivery.status]},
                    account_id=delivery.endpoint.account_id,
                )
            redelivered += 1
        self.message_user(request, f"{redelivered} delivery(ies) queued again.", messages.SUCCESS)
