"""Operators' view of handles and devices: watch queues, pause and resume, move, attach.

The handle list is one query whatever its length (`handles.selectors.handles_for_operators`
annotates each row with its live device's last contact, open jobs, queued messages and the
oldest one's place). Every action here writes an audit row (`accounts.services.audit_record`)
in the transaction of the change.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.models import Account
from accounts.operator_admin import (
    OperatorAdmin,
    ReadOnlyOperatorAdmin,
    confirmation_page,
    values_filter,
)
from accounts.services import audit_record
from contract.caching import no_store
from contract.errors import DomainError
from handles import registry, selectors, services
from handles.models import Device, DeviceEvent, Handle, HandleStatusChange, Job


class DeviceInline(admin.TabularInline[Device, Handle]):
    model = Device
    extra = 0
    fields = readonly_fields = ("id", "name", "simulated", "last_seen_at", "version", "revoked_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MoveForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.order_by("name"), help_text="The account the handles go to."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        required=False,
        help_text="Kept in the audit log.",
    )


def _age(moment: datetime | None) -> str:
    return timesince(moment, timezone.now()) if moment is not None else "—"


@admin.register(Handle)
class HandleAdmin(OperatorAdmin):
    list_display = [
        "address",
        "account",
        "live_status",
        "paused",
        "health_state",
        "queue_depth",
        "oldest_queued",
        "last_contact",
        "pacing",
        "new_contacts",
    ]
    list_filter = ["status", "paused", "health"]
    list_select_related = ["account"]
    search_fields = ["address", "account__id", "account__name"]
    # Moving a number between tenants is the "move" action's job (or `assign_handle --move`).
    readonly_fields = [
        "account",
        "status",
        "status_changed_at",
        "paused",
        "paused_at",
        "health",
        "health_reasons",
        "health_changed_at",
        "health_cleared_at",
        "created_at",
    ]
    inlines = [DeviceInline]
    actions = ["pause", "resume", "clear_health", "move", "attach_device"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Handle]:
        return selectors.handles_for_operators()

    def save_model(
        self, request: HttpRequest, obj: Handle, form: ModelForm[Handle], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if change and "new_contact_budget" in form.changed_data:
            # What waited for a slot goes now, not at the next minute's release.
            registry.handle_budget_changed(obj.pk)

    @admin.display(description="status", ordering="last_seen_at")
    def live_status(self, handle: Handle) -> str:
        return "online" if selectors.is_online(handle.last_seen_at) else "offline"  # type: ignore[attr-defined]

    @admin.display(description="line health", ordering="health")
    def health_state(self, handle: Handle) -> str:
        """Its state and, when not healthy, what put it there (docs/compliance.md)."""
        reasons = ", ".join(reason["code"] for reason in handle.health_reasons or [])
        label = handle.get_health_display()
        return f"{label}: {reasons}" if reasons and handle.health != "healthy" else label

    @admin.display(description="queue depth", ordering="queued")
    def queue_depth(self, handle: Handle) -> int:
        return int(getattr(handle, "queued", 0) or 0) + int(getattr(handle, "open_jobs", 0) or 0)

    @admin.display(description="oldest queued", ordering="oldest_queued_at")
    def oldest_queued(self, handle: Handle) -> str:
        return _age(getattr(handle, "oldest_queued_at", None))

    @admin.display(description="last device contact", ordering="last_seen_at")
    def last_contact(self, handle: Handle) -> str:
        seen = getattr(handle, "last_seen_at", None)
        return f"{_age(seen)} ago" if seen is not None else "never"

    @admin.display(description="pacing")
    def pacing(self, handle: Handle) -> str:
        return f"{handle.per_minute}/min, burst {handle.burst}"

    @admin.display(description="new contacts (24 h)", ordering="contacts_used")
    def new_contacts(self, handle: Handle) -> str:
        """Slots of its new-contact budget used in the rolling 24 h, of its budget (set on
        the handle's page: `new_contact_budget`, empty for no limit; the change is audited)."""
        used = int(getattr(handle, "contacts_used", 0) or 0)
        budget = handle.new_contact_budget
        return f"{used} / {'no limit' if budget is None else budget}"

    @admin.action(
        description="Pause selected handles (messages wait, queued)", permissions=["change"]
    )
    def pause(self, request: HttpRequest, queryset: QuerySet[Handle]) -> None:
        paused = sum(
            services.handle_pause_set(handle=handle, paused=True, operator=request.user)
            for handle in queryset
        )
        self.message_user(request, f"{paused} handle(s) paused.", messages.SUCCESS)

    @admin.action(
        description="Resume selected handles (their queues drain)", permissions=["change"]
    )
    def resume(self, request: HttpRequest, queryset: QuerySet[Handle]) -> None:
        resumed = sum(
            services.handle_pause_set(handle=handle, paused=False, operator=request.user)
            for handle in queryset
        )
        self.message_user(request, f"{resumed} handle(s) resumed.", messages.SUCCESS)

    @admin.action(
        description="Clear line health (healthy; its past outcomes stop counting)",
        permissions=["change"],
    )
    def clear_health(self, request: HttpRequest, queryset: QuerySet[Handle]) -> None:
        """Clear each handle's health (audited): held new-contact sends go out, and only what
        happens from now on is judged."""
        cleared = sum(
            services.handle_health_clear(handle=handle, operator=request.user)
            for handle in queryset
        )
        self.message_user(
            request, f"{cleared} handle(s) cleared of at-risk or critical health.", messages.SUCCESS
        )

    @admin.action(description="Move selected handles to another account…", permissions=["change"])
    def move(self, request: HttpRequest, queryset: QuerySet[Handle]) -> HttpResponse | None:
        """Ask for the target account, saying how many waiting messages each move fails; then
        move them (`handle_assign(move=True)`: the old account's waiting messages fail)."""
        handles = list(queryset)
        depths = selectors.queue_depths(handles)
        form = MoveForm(request.POST if "confirm" in request.POST else None)
        if not form.is_valid():
            return confirmation_page(
                self,
                request,
                action="move",
                title="Move handles to another account",
                intro=(
                    "Messages still waiting on a moved handle fail (handle_unassigned) instead "
                    "of going out from its new account."
                ),
                objects=[
                    (handle, f"{depths.get(handle.pk, 0)} queued message(s) will fail")
                    for handle in handles
                ],
                form=form,
                submit="Move",
            )
        target: Account = form.cleaned_data["account"]
        moved = 0
        for handle in handles:
            before = handle.account_id
            if before == target.pk:
                self.message_user(request, f"{handle} is already {target}'s.", messages.WARNING)
                continue
            try:
                with transaction.atomic():
                    services.handle_assign(account=target, address=handle.address, move=True)
                    audit_record(
                        operator=request.user,
                        action="handle.move",
                        obj=handle,
                        changes={"account": [before, target.pk]},
                        reason=form.cleaned_data["reason"],
                        account_id=before or target.pk,
                    )
                moved += 1
            except DomainError as exc:
                self.message_user(request, f"{handle}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{moved} handle(s) moved to {target}.", messages.SUCCESS)
        return None

    @admin.action(description="Attach a new device (shows its token once)", permissions=["change"])
    def attach_device(self, request: HttpRequest, queryset: QuerySet[Handle]) -> HttpResponse:
        """Attach a device to each selected handle and show the tokens on a page of their own.

        Never through the messages framework: that would keep the token in a cookie. The page
        is `no-store`, so no browser or proxy cache keeps it either.
        """
        attached = []
        for handle in queryset:
            with transaction.atomic():
                issued = services.device_attach(handle=handle, name="attached in admin")
                audit_record(operator=request.user, action="device.attach", obj=issued.device)
            attached.append((handle, issued))
        context = {
            **self.admin_site.each_context(request),
            "title": "Devices attached: copy their tokens now",
            "attached": attached,
            "opts": self.model._meta,
        }
        return no_store(TemplateResponse(request, "admin/handles/attached_devices.html", context))


@admin.register(Device)
class DeviceAdmin(ReadOnlyOperatorAdmin):
    list_display = ["id", "handle", "name", "simulated", "last_seen_at", "version", "revoked_at"]
    list_filter = ("simulated", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ["handle"]
    search_fields = ["id", "handle__address"]
    exclude = ("token_hash",)


@admin.register(HandleStatusChange)
class HandleStatusChangeAdmin(ReadOnlyOperatorAdmin):
    list_display = ["handle", "status", "at"]
    list_filter = ["status"]
    list_select_related = ["handle"]
    search_fields = ["handle__address"]


@admin.register(Job)
class JobAdmin(ReadOnlyOperatorAdmin):
    list_display = ["id", "kind", "handle", "status", "deliveries", "created_at", "finished_at"]
    list_filter = ["status", values_filter("kind", title="kind")]
    list_select_related = ["handle"]
    search_fields = ["id", "handle__address"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyOperatorAdmin):
    list_display = ["external_id", "type", "handle", "received_at"]
    list_filter = [values_filter("type", title="type", known=registry.device_event_types)]
    list_select_related = ["handle"]
    search_fields = ["external_id", "handle__address"]
