"""Hand-written SQL for the few statements on the hot path, with the ORM's own conversions.

Compiling an ORM query costs more CPU than PostgreSQL spends running a small one; a
statement that runs on every request is written once as SQL (cached per process) and its
rows become model instances here, converted exactly as a queryset converts them (JSON
decoded, values adapted), so callers get the same objects either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from django.db import connection
from django.db.models import Field, Model

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


# Columns whose Python value the driver takes as it is (what `get_db_prep_save` would make
# of a value of the right type anyway); every other field is prepared by the ORM.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


def insert_params(instance: Model, *, skip_auto: bool = False) -> list[Any]:
    """The values of `insert_columns(model)` for inserting `instance`, as `save()` would
    send them (plain values of plain columns as they are, the rest prepared by the ORM).

    With `skip_auto`, the auto-incremented primary key is left out."""
    values = []
    for field, plain in _insert_plan(type(instance), skip_auto):
        if plain:
            value = getattr(instance, field.attname)
            if type(value) is not str and isinstance(value, str):
                value = str(value)  # a TextChoices member: its value
            values.append(value)
        else:
            values.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return values


_plans: dict[tuple[type[Model], bool], list[tuple[Any, bool]]] = {}


def _insert_plan(model: type[Model], skip_auto: bool) -> list[tuple[Any, bool]]:
    plan = _plans.get((model, skip_auto))
    if plan is None:
        plan = _plans[(model, skip_auto)] = [
            (field, field.get_internal_type() in _PLAIN_TYPES and not _has_own_pre_save(field))
            for field in _insert_fields(model, skip_auto)
        ]
    return plan


def _has_own_pre_save(field: Any) -> bool:
    """auto_now / auto_now_add fields compute their value in `pre_save`."""
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


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


def rows_update(rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of each of `rows` (one model) in one statement, like `bulk_update`.

    On PostgreSQL an `UPDATE … FROM (VALUES …)`: Django's `bulk_update` builds a `CASE` per
    field and row, which costs more Python than the rest of a dispatch run together."""
    if not rows:
        return
    model = type(rows[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, list(fields))
        return
    meta = model._meta
    key = meta.pk
    assert key is not None
    columns = [cast(Field, meta.get_field(name)) for name in fields]
    quote = connection.ops.quote_name
    row = ", ".join(f"CAST(%s AS {field.db_type(connection)})" for field in [key, *columns])
    params: list[Any] = []
    for instance in rows:
        params.append(key.get_db_prep_value(instance.pk, connection))
        params += [
            field.get_db_prep_save(getattr(instance, field.attname), connection)
            for field in columns
        ]
    names = ", ".join(["row_key", *(quote(str(field.column)) for field in columns)])
    sets = ", ".join(
        f"{quote(str(field.column))} = v.{quote(str(field.column))}" for field in columns
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {sets} "  # noqa: S608
            f"FROM (VALUES {', '.join([f'({row})'] * len(rows))}) AS v({names}) "
            f"WHERE {quote(meta.db_table)}.{quote(key.column)} = v.row_key",
            params,
        )
