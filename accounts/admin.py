"""Operators' view of tenants and keys: suspend/activate with a reason, usage today, members
and roles, rate limits, revoke; and the audit log of everything operators did.

Every write here leaves an audit row (`accounts.operator_admin`); the audit log itself can be
read and filtered, never added to, changed or deleted from admin, by anyone.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from accounts import services
from accounts.dashboard import usage_today_many
from accounts.models import Account, ApiKey, AuditEntry, IdempotencyRecord, Membership
from accounts.operator_admin import (
    EstimatedCountPaginator,
    OperatorAdmin,
    ReadOnlyOperatorAdmin,
    ReasonForm,
    confirmation_page,
)


class MembershipInline(admin.TabularInline[Membership, Account]):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ["user"]


class AccountChangeList(ChangeList):
    """The account list, with each shown account's usage today read in two round trips."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        accounts = list(self.result_list)
        usage = usage_today_many([account.pk for account in accounts])
        for account in accounts:
            account.usage_today = usage.get(account.pk, {})


def _usage(account: Account, name: str) -> int:
    return int(getattr(account, "usage_today", {}).get(name, 0))


@admin.register(Account)
class AccountAdmin(OperatorAdmin):
    list_display = [
        "id",
        "name",
        "is_active",
        "messages_today",
        "api_calls_today",
        "rate_limit_per_minute",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["id", "name"]
    # Suspending and activating are actions, with a reason, so the audit log says why.
    readonly_fields = ["id", "is_active", "created_at"]
    inlines = [MembershipInline]
    actions = ["activate", "suspend"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AccountChangeList

    @admin.display(description="messages today")
    def messages_today(self, account: Account) -> int:
        return _usage(account, "messages_today")

    @admin.display(description="API calls today")
    def api_calls_today(self, account: Account) -> int:
        return _usage(account, "api_calls_today")

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Account], *, active: bool
    ) -> HttpResponse | None:
        verb, done = ("activate", "activated") if active else ("suspend", "suspended")
        accounts = list(queryset)
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return confirmation_page(
                self,
                request,
                action=verb,
                title=f"{verb.capitalize()} accounts",
                intro=(
                    "Their API keys work again at once."
                    if active
                    else "Their API keys get 403 forbidden (within the key cache's seconds)."
                ),
                objects=[
                    (account, "" if account.is_active != active else f"already {done}")
                    for account in accounts
                ],
                form=form,
                submit=verb.capitalize(),
            )
        changed = 0
        for account in accounts:
            if account.is_active == active:
                continue
            with transaction.atomic():
                services.account_set_active(account=account, active=active)
                services.audit_record(
                    operator=request.user,
                    action=f"account.{verb}",
                    obj=account,
                    changes={"is_active": [not active, active]},
                    reason=form.cleaned_data["reason"],
                )
            changed += 1
        self.message_user(request, f"{changed} account(s) {done}.", messages.SUCCESS)
        return None

    @admin.action(description="Activate selected accounts…", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._set_active(request, queryset, active=True)

    @admin.action(
        description="Suspend selected accounts (their keys get 403)…", permissions=["change"]
    )
    def suspend(self, request: HttpRequest, queryset: QuerySet[Account]) -> HttpResponse | None:
        return self._set_active(request, queryset, active=False)


@admin.register(ApiKey)
class ApiKeyAdmin(OperatorAdmin):
    list_display = [
        "id",
        "prefix",
        "name",
        "account",
        "rate_limit_per_minute",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["account"]
    search_fields = ["id", "prefix", "account__id", "account__name"]
    fields = [
        "id",
        "account",
        "name",
        "prefix",
        "rate_limit_per_minute",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["id", "account", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key's secret is shown once, by `create_api_key` or the dashboard.
        return False

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            with transaction.atomic():
                services.api_key_revoke(api_key=api_key)
                services.audit_record(operator=request.user, action="api_key.revoke", obj=api_key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyOperatorAdmin):
    list_display = ["key", "account", "method", "path", "status_code", "created_at"]
    list_select_related = ["account"]
    search_fields = ["key", "account__id", "request_id"]
    exclude = ["body"]


# The audit log's filters offer what its latest rows hold (and staff, and every known action),
# never a DISTINCT over the whole log; any value still filters (`?account=acct_…`).
RECENT_ROWS = 500


def _recent(field: str) -> list[Any]:
    """The distinct values of `field` in the latest `RECENT_ROWS` rows of the log, in order."""
    values = AuditEntry.objects.order_by("-at", "-id").values_list(field, flat=True)
    return sorted({value for value in values[:RECENT_ROWS] if value is not None})


class OperatorFilter(admin.SimpleListFilter):
    """Who did it: staff, "command-line", and whoever appears in the latest rows."""

    title = "operator"
    parameter_name = "operator"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        staff = User.objects.filter(is_staff=True).values_list("username", flat=True)
        names = sorted({AuditEntry.COMMAND_LINE, *staff, *_recent("operator_name")})
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(operator_name=self.value()) if self.value() else queryset


class ActionFilter(OperatorFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = sorted({*AuditEntry.ACTIONS, *_recent("action")})
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class AccountFilter(OperatorFilter):
    title = "account"
    parameter_name = "account"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        accounts = Account.objects.filter(pk__in=_recent("account_id")).order_by("name")
        return [(account.pk, str(account)) for account in accounts]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(account_id=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """The audit log: read and filtered, never written from here (not even by a superuser)."""

    list_display = [
        "at",
        "operator_name",
        "action",
        "object_type",
        "object_link",
        "account",
        "changes",
        "reason",
    ]
    list_filter = [OperatorFilter, AccountFilter, ActionFilter]
    list_select_related = ["account"]
    search_fields = ["object_id", "object_repr", "reason"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="object", ordering="object_repr")
    def object_link(self, entry: AuditEntry) -> str:
        """The object as it read, linked to its admin page while it has one (no query)."""
        app_label, _, model_name = entry.object_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[entry.object_id])
        except NoReverseMatch:
            return entry.object_repr
        return format_html('<a href="{}">{}</a>', url, entry.object_repr)


# People and their permissions are operators' writes too: Django's own admins, audited.
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class AuditedUserAdmin(OperatorAdmin, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(OperatorAdmin, GroupAdmin):
    pass
