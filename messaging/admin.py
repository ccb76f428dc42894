"""Operators' view of chats and messages: filter, search, retry failed ones."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from contract.errors import DomainError
from messaging.models import Chat, Message, MessageStatusEvent
from messaging.services import lifecycle


class StatusHistoryInline(admin.TabularInline[MessageStatusEvent, Message]):
    model = MessageStatusEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("status", "at", "source", "detail", "applied")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = (
        "id",
        "account",
        "direction",
        "from_handle",
        "to",
        "channel",
        "status",
        "created_at",
    )
    list_filter = ("status", "channel", "direction", "account")
    list_select_related = ("account",)
    search_fields = ("id", "from_handle", "to", "upstream_id", "chat__id")
    readonly_fields = tuple(f.name for f in Message._meta.fields)
    inlines = (StatusHistoryInline,)
    actions = ("retry",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry selected failed messages")
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        retried = 0
        for message in queryset.filter(status=Message.Status.FAILED):
            try:
                lifecycle.message_retry(message=message)
                retried += 1
            except DomainError as exc:
                self.message_user(request, f"{message.id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{retried} message(s) queued again.")


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin[Chat]):
    list_display = ("id", "account", "type", "handle", "participants", "channel", "last_message_at")
    list_filter = ("type", "channel", "account")
    list_select_related = ("account", "handle")
    search_fields = ("id", "participants_key", "handle__address")
    readonly_fields = tuple(f.name for f in Chat._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
