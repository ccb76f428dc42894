"""Operators' view of tenants and keys: activate/suspend, rate limits, revoke."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import Account, ApiKey, IdempotencyRecord, Membership


class MembershipInline(admin.TabularInline[Membership, Account]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    list_display = ["id", "name", "is_active", "rate_limit_per_minute", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["id", "name"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]
    actions = ["activate", "suspend"]

    @admin.action(description="Activate selected accounts")
    def activate(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            services.account_set_active(account=account, active=True)
        self.message_user(request, f"{queryset.count()} account(s) activated.")

    @admin.action(description="Suspend selected accounts (their keys get 403)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            services.account_set_active(account=account, active=False)
        self.message_user(request, f"{queryset.count()} account(s) suspended.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
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

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin[IdempotencyRecord]):
    list_display = ["key", "account", "method", "path", "status_code", "created_at"]
    list_select_related = ["account"]
    search_fields = ["key", "account__id", "request_id"]
    exclude = ["body"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
