"""Operators' view of the outbox, endpoints and deliveries: filter, search, redeliver."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks import services
from webhooks.models import DeliveryAttempt, Event, WebhookDelivery, WebhookEndpoint


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnly):
    list_display = ("id", "type", "account", "created_at", "fanned_out_at")
    list_filter = ("type",)
    list_select_related = ("account",)
    search_fields = ("id", "account__id")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ("id", "url", "account", "enabled", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("account",)
    search_fields = ("id", "url", "account__id", "account__name")
    exclude = ("secret", "previous_secret")
    readonly_fields = ("id", "account", "failing_since", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the owner creates endpoints (and receives the secret) through the API


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
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ("id", "endpoint", "event_type", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "event__type", "endpoint")
    list_select_related = ("endpoint", "event")
    search_fields = ("id", "event__id", "endpoint__id", "endpoint__url")
    inlines = (AttemptInline,)
    actions = ("redeliver",)

    @admin.display(description="event")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.action(description="Redeliver selected deliveries")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            services.webhook_redeliver(delivery=delivery)
        self.message_user(request, f"{queryset.count()} delivery(ies) queued again.")
