"""Operators' view of chats and messages: filter, search, retry failed ones, cancel queued ones.

Each action goes through the message's state machine (`messaging.services.lifecycle`) and
writes an audit row in the same transaction; the lists never count a big table
(`accounts.operator_admin`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.operator_admin import OperatorAdmin
from accounts.services import audit_record
from contract.errors import DomainError
from handles.addresses import handle_normalize
from messaging import selectors
from messaging.models import Chat, Message, MessageStatusEvent, OptOut
from messaging.services import lifecycle, opt_outs


class StatusHistoryInline(admin.TabularInline[MessageStatusEvent, Message]):
    model = MessageStatusEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("status", "at", "source", "detail", "applied")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class StuckInSendingFilter(admin.SimpleListFilter):
    """`?stuck=1`: what the overview's "Stuck in sending" card lists (monitoring)."""

    title = "stuck in sending"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [("1", "In sending past the sync timeout")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() != "1":
            return queryset
        return queryset.filter(selectors.stuck_in_sending())


@admin.register(Message)
class MessageAdmin(OperatorAdmin):
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
    list_filter = ("status", StuckInSendingFilter, "channel", "direction", "account")
    list_select_related = ("account",)
    search_fields = ("id", "from_handle", "to", "upstream_id", "chat__id")
    readonly_fields = tuple(f.name for f in Message._meta.fields)
    inlines = (StatusHistoryInline,)
    actions = ("retry", "cancel")
    # No date_hierarchy: its year links are a DISTINCT over the whole table on every load.

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Message],
        *,
        status: str,
        action: str,
        change: Callable[[Message], Message],
    ) -> int:
        """Apply `change` to each selected message in `status`, audited; warn about the rest."""
        done = 0
        for message in queryset:
            if message.status != status:
                self.message_user(
                    request,
                    f"{message.id}: it is {message.status}, not {status}.",
                    messages.WARNING,
                )
                continue
            try:
                with transaction.atomic():
                    changed = change(message)
                    audit_record(
                        operator=request.user,
                        action=action,
                        obj=changed,
                        changes={"status": [status, changed.status]},
                    )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{message.id}: {exc.message}", messages.WARNING)
        return done

    @admin.action(description="Retry selected failed messages", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        retried = self._apply(
            request,
            queryset,
            status=Message.Status.FAILED,
            action="message.retry",
            change=lambda message: lifecycle.message_retry(message=message),
        )
        self.message_user(request, f"{retried} message(s) queued again.", messages.SUCCESS)

    @admin.action(
        description="Cancel selected queued messages (they fail as canceled)",
        permissions=["change"],
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        canceled = self._apply(
            request,
            queryset,
            status=Message.Status.QUEUED,
            action="message.cancel",
            change=lambda message: lifecycle.message_cancel(message=message),
        )
        self.message_user(request, f"{canceled} message(s) canceled.", messages.SUCCESS)


@admin.register(Chat)
class ChatAdmin(OperatorAdmin):
    list_display = ("id", "account", "type", "handle", "participants", "channel", "last_message_at")
    list_filter = ("type", "channel", "account")
    list_select_related = ("account", "handle")
    search_fields = ("id", "participants_key", "handle__address")
    readonly_fields = tuple(f.name for f in Chat._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class OptOutForm(forms.ModelForm[OptOut]):
    """An operator's opt-out: the account, the recipient (normalized as the API does), why."""

    class Meta:
        model = OptOut
        fields = ["account", "recipient", "reason"]

    def clean_recipient(self) -> str:
        try:
            return handle_normalize(self.cleaned_data["recipient"], field="recipient")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(OptOut)
class OptOutAdmin(OperatorAdmin):
    """Every account's opt-outs. Operators add them (`source: operator`) and remove them (the
    recipient opts back in) through the same service as the API, so what waits to go to them
    fails and the account's webhooks hear of it; each add and remove is audited."""

    form = OptOutForm
    list_display = ["recipient", "account", "source", "reason", "created_at"]
    list_filter = ["source"]
    list_select_related = ["account"]
    search_fields = ["recipient", "account__id", "account__name"]
    autocomplete_fields = ["account"]
    readonly_fields = ["source", "message", "created_at"]

    def get_fields(self, request: HttpRequest, obj: OptOut | None = None) -> Any:
        fields = ["account", "recipient", "reason"]
        return fields if obj is None else [*fields, "source", "message", "created_at"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # an opt-out is added or removed, never edited

    def save_model(self, request: HttpRequest, obj: OptOut, form: Any, change: bool) -> None:
        obj._audit_changes = {  # type: ignore[attr-defined]
            name: [None, str(form.cleaned_data[name])] for name in form.cleaned_data
        }
        made = opt_outs.opt_out_add(
            account=obj.account,
            recipient=obj.recipient,
            source=OptOut.Source.OPERATOR,
            reason=obj.reason,
        ).opt_out
        obj.pk, obj.source, obj.created_at = made.pk, made.source, made.created_at

    def delete_model(self, request: HttpRequest, obj: OptOut) -> None:
        opt_outs.opt_out_remove(
            account=obj.account, recipient=obj.recipient, source=OptOut.Source.OPERATOR
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OptOut]) -> None:
        for opt_out in queryset.select_related("account"):
            self.delete_model(request, opt_out)
