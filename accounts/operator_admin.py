"""The base of every operator admin page: each save, change and delete leaves an audit row,
and no changelist counts a big table on each load.

Every `ModelAdmin` of the project derives from `OperatorAdmin`. Built-in adds, changes and
deletions are recorded through Django's own hooks (`log_addition`, `log_change`,
`log_deletions`), with the fields' values before and after; custom actions call
`accounts.services.audit_record` themselves, with their reason where they ask one.

Counting: `show_full_result_count` is off (no second count of the unfiltered table) and the
paginator counts at most `EXACT_COUNT_UP_TO` rows: an unfiltered list of a bigger table is
sized from PostgreSQL's estimate (`pg_class.reltuples`, kept by autovacuum/ANALYZE), a
filtered one that reaches the cap shows the cap (docs/operations.md, "Operating from admin").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property

from accounts.services import audit_record

EXACT_COUNT_UP_TO = 10_000


def _estimated_rows(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows in the queryset's table (None elsewhere or unknown)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts more than `EXACT_COUNT_UP_TO` rows."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        bounded = queryset.order_by()[: EXACT_COUNT_UP_TO + 1].count()
        if bounded <= EXACT_COUNT_UP_TO:
            return bounded
        if not queryset.query.where:
            estimate = _estimated_rows(queryset)
            if estimate is not None:
                return max(estimate, bounded)
        return EXACT_COUNT_UP_TO


# Fields whose values never go in the audit log (that they changed does).
SECRET_FIELDS = re.compile(r"password|secret|token", re.IGNORECASE)


def _form_changes(form: ModelForm[Any], *, change: bool) -> dict[str, list[Any]]:
    """{field: [before, after]} of what the form changed; a secret field as "(hidden)"."""
    found: dict[str, list[Any]] = {}
    for field in form.changed_data:
        before = _plain(form.initial.get(field)) if change else None
        after = _plain(form.cleaned_data.get(field))
        if change and before == after:  # a form that re-parsed the same value (JSON)
            continue
        if SECRET_FIELDS.search(field):
            before, after = (before and "(hidden)"), "(hidden)"
        found[field] = [before, after]
    return found


def _plain(value: Any) -> Any:
    """A form value as JSON can keep it (an object as its primary key)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, QuerySet):
        return [item.pk for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)


def _inline_changes(message: Any, *, own_fields: bool) -> dict[str, list[Any]]:
    """What a change message (Django's JSON list) says about inline objects."""
    found: dict[str, list[Any]] = {}
    for entry in message if isinstance(message, list) else []:
        for verb, detail in entry.items():
            if isinstance(detail, dict) and "name" in detail:
                label = f"{detail['name']} {detail.get('object', '')}".strip()
                fields = detail.get("fields")
                found[label] = [None, f"{verb} {', '.join(fields)}" if fields else verb]
            elif own_fields and isinstance(detail, dict):  # changed outside a ModelForm
                for field in detail.get("fields", []):
                    found.setdefault(
                        field, [None, "(hidden)" if SECRET_FIELDS.search(field) else verb]
                    )
    return found


def _changes(obj: Any, message: Any) -> dict[str, list[Any]]:
    """What an add or change did: the form's fields before/after, and its inlines; the change
    message's field names when no form was saved (a password changed on its own page)."""
    own = getattr(obj, "_audit_changes", None)
    return {**_inline_changes(message, own_fields=own is None), **(own or {})}


class OperatorAdmin(admin.ModelAdmin):
    """A ModelAdmin that audits every built-in write and never counts a big table."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def save_model(
        self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
    ) -> None:
        obj._audit_changes = _form_changes(form, change=change)
        super().save_model(request, obj, form, change)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit_record(
            operator=request.user,
            action="add",
            obj=obj,
            changes=_changes(obj, message),
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit_record(
            operator=request.user,
            action="change",
            obj=obj,
            changes=_changes(obj, message),
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            audit_record(operator=request.user, action="delete", obj=obj)
        return super().log_deletions(request, queryset)


class ReadOnlyOperatorAdmin(OperatorAdmin):
    """History that must not be edited by hand (still deletable by those allowed to)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def confirmation_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    intro: str,
    objects: list[tuple[Any, str]],
    form: Any,
    submit: str,
) -> TemplateResponse:
    """The page an action shows before it acts: each selected object with what will happen
    to it, and `form` (a reason, a target). Submitting it runs the action again, confirmed."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "objects": objects,
        "form": form,
        "action": action,
        "submit": submit,
        "opts": model_admin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/operator/action_form.html", context)


class ReasonForm(forms.Form):
    """The reason an operator gives for an action, kept in the audit log."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Kept in the audit log.",
    )


def values_filter(
    field: str,
    *,
    title: str,
    known: Callable[[], Iterable[str]] = tuple,
    recent: int = 1000,
) -> type[admin.SimpleListFilter]:
    """A list filter on `field` that offers the `known` values and those found in `recent`
    rows (the latest where ids grow, an index-ordered sample where they are random): Django's
    own filter on a plain column is a DISTINCT over the whole table on every load. Any value
    still filters (`?<field>=…`)."""

    class ValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            latest = model_admin.model.objects.order_by("-pk").values_list(field, flat=True)
            values = {*known(), *(value for value in latest[:recent] if value)}
            return [(value, value) for value in sorted(values)]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    ValuesFilter.title = title
    return ValuesFilter
