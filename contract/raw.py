"""Hand-written SQL for the few statements on the hot path, with the ORM's own conversions.

Compiling an ORM query costs more CPU than PostgreSQL spends running a small one; a
statement that runs on every request is written once as SQL (cached per process) and its
rows become model instances here, converted exactly as a queryset converts them (JSON
decoded, values adapted), so callers get the same objects either way.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str = "") -> str:
    """The model's concrete columns, quoted, in field order (`alias.` before each if given)."""
    quote = connection.ops.quote_name
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + quote(field.column) for field in model._meta.concrete_fields)


def table(model: type[Model]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def from_row(model: type[M], row: Any) -> M:
    """An instance from a row of `columns(model)`, converted as the ORM would."""
    fields = model._meta.concrete_fields
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return model.from_db(connection.alias, [field.attname for field in fields], values)


def insert_params(instance: Model, *, skip_auto: bool = False) -> list[Any]:
    """The values of `columns(model)` for inserting `instance`, prepared as `save()` would.

    With `skip_auto`, the auto-incremented primary key is left out (as from `columns`
    without it: see `insert_columns`)."""
    return [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in _insert_fields(type(instance), skip_auto)
    ]


def insert_columns(model: type[Model], *, skip_auto: bool = False) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(field.column) for field in _insert_fields(model, skip_auto))


def _insert_fields(model: type[Model], skip_auto: bool) -> list[Any]:
    fields = model._meta.concrete_fields
    if skip_auto:
        return [field for field in fields if not getattr(field, "db_returning", False)]
    return list(fields)


def inserted(instance: Model) -> None:
    """Mark an instance written by hand as saved (as `save()` would)."""
    instance._state.adding = False
    instance._state.db = connection.alias
