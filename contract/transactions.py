"""Transactions in which any error discards all the work, so inner blocks need no savepoint.

A nested `atomic()` costs two statements (SAVEPOINT, RELEASE) so that an error inside it can
be rolled back alone while the outer transaction goes on. Inside `all_or_nothing()` nothing
goes on after an error: its owner rolls the whole transaction back. A block opened directly
inside it may then skip its savepoint: `atomic_step()` does exactly when that is safe, and
is an ordinary nested `atomic()` everywhere else (inside a test's transaction, say).

A statement that takes a row lock other transactions queue for (a chat's `last_message_at`,
touched by every send into it) can be left to the end of such a transaction
(`before_commit`): the lock is then held through the commit only, not through the rest of
the work. Its owner may fold what is left into its own last statement (`take_late`, as
data-modifying CTEs); whatever is still left runs just before the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction
from django.db.transaction import Atomic

# The depth of `atomic` blocks at which the innermost all-or-nothing transaction runs, and
# the number of savepoint ids the connection had inside it then.
_depth: ContextVar[int | None] = ContextVar("all_or_nothing_depth", default=None)
_savepoints: ContextVar[int] = ContextVar("all_or_nothing_savepoints", default=0)
# Statements (SQL, params) left to the end of it.
_late: ContextVar[list[tuple[str, list[Any]]] | None] = ContextVar("late", default=None)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """`atomic()`, promising that an error inside leaves it by an exception (rolling back all
    of it): no query runs in it after an error."""
    with transaction.atomic():
        depth = _depth.set(len(connection.atomic_blocks))
        savepoints = _savepoints.set(len(connection.savepoint_ids))
        late = _late.set([])
        try:
            yield
            for sql, params in take_late():
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
        finally:
            _late.reset(late)
            _savepoints.reset(savepoints)
            _depth.reset(depth)


def before_commit(sql: str, params: list[Any]) -> bool:
    """Leave a statement to the end of the all-or-nothing transaction this code runs in
    (with no savepoint in between, which could roll back without it); False when there is
    none: the caller runs it itself."""
    late = _late.get()
    if late is None or _depth.get() is None:
        return False
    if any(sid is not None for sid in connection.savepoint_ids[_savepoints.get() :]):
        return False
    late.append((sql, params))
    return True


def take_late() -> list[tuple[str, list[Any]]]:
    """The statements left to the end of this transaction, now the caller's to run."""
    late = _late.get()
    if not late:
        return []
    taken = list(late)
    late.clear()
    return taken


def with_late(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """`sql` (one statement) preceded by the statements left to the end of this transaction,
    as data-modifying CTEs of it: one statement for all (PostgreSQL)."""
    late = take_late() if connection.vendor == "postgresql" else []
    if not late:
        return sql, params
    ctes = ", ".join(f"late_{index} AS ({late_sql})" for index, (late_sql, _) in enumerate(late))
    late_params = [param for _, late_params in late for param in late_params]
    return f"WITH {ctes} {sql}", late_params + params


def atomic_step() -> Atomic:
    """`atomic()` for a unit of work: without a savepoint directly inside `all_or_nothing()`
    (an error there marks the whole transaction for rollback), with one anywhere else."""
    inside = _depth.get() is not None and _depth.get() == len(connection.atomic_blocks)
    return transaction.atomic(savepoint=not inside)
