from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["id", "type", "account", "created_at"]
    list_filter = ["type"]
    list_select_related = ["account"]
    search_fields = ["id", "account__id"]
    readonly_fields = ["id", "account", "type", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
