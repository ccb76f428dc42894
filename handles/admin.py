"""Operators' view of handles and devices: assign, attach (token shown once), watch."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from contract.caching import no_store
from handles import services
from handles.models import Device, DeviceEvent, Handle, HandleStatusChange, Job


class ReadOnlyAdmin(admin.ModelAdmin):
    """History that must not be edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DeviceInline(admin.TabularInline[Device, Handle]):
    model = Device
    extra = 0
    fields = readonly_fields = ("id", "name", "simulated", "last_seen_at", "version", "revoked_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Handle)
class HandleAdmin(admin.ModelAdmin[Handle]):
    list_display = ["address", "account", "status", "channels", "per_minute", "burst"]
    list_filter = ["status"]
    list_select_related = ["account"]
    search_fields = ["address", "account__id", "account__name"]
    # Moving a number between tenants is `assign_handle`'s job, with its checks.
    readonly_fields = ["account", "status", "status_changed_at", "created_at"]
    inlines = [DeviceInline]
    actions = ["attach_device"]

    @admin.action(description="Attach a new device (shows its token once)")
    def attach_device(self, request: HttpRequest, queryset: QuerySet[Handle]) -> HttpResponse:
        """Attach a device to each selected handle and show the tokens on a page of their own.

        Never through the messages framework: that would keep the token in a cookie. The page
        is `no-store`, so no browser or proxy cache keeps it either.
        """
        attached = [
            (handle, services.device_attach(handle=handle, name="attached in admin"))
            for handle in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Devices attached: copy their tokens now",
            "attached": attached,
            "opts": self.model._meta,
        }
        return no_store(TemplateResponse(request, "admin/handles/attached_devices.html", context))


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["id", "handle", "name", "simulated", "last_seen_at", "version", "revoked_at"]
    list_filter = ("simulated", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ["handle"]
    search_fields = ["id", "handle__address"]
    exclude = ("token_hash",)


@admin.register(HandleStatusChange)
class HandleStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["handle", "status", "at"]
    list_filter = ["status"]
    list_select_related = ["handle"]
    search_fields = ["handle__address"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "handle", "status", "deliveries", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["handle"]
    search_fields = ["id", "handle__address"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "type", "handle", "received_at"]
    list_filter = ["type"]
    list_select_related = ["handle"]
    search_fields = ["external_id", "handle__address"]
