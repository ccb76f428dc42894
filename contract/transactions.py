"""Transactions in which any error discards all the work, so inner blocks need no savepoint.

A nested `atomic()` costs two statements (SAVEPOINT, RELEASE) so that an error inside it can
be rolled back alone while the outer transaction goes on. Inside `all_or_nothing()` nothing
goes on after an error: its owner rolls the whole transaction back. A block opened directly
inside it may then skip its savepoint: `atomic_step()` does exactly when that is safe, and
is an ordinary nested `atomic()` everywhere else (inside a test's transaction, say).

A statement that takes a row lock other transactions queue for (a chat's `last_message_at`,
touched by every send into it) can be left to the end of such a transaction
(`before_commit`): the lock is then held through the commit only, not through the rest of
the work. Its owner may fold what is left into its own last statement (`with_late`, as
data-modifying CTEs); whatever is still left runs just before the commit. Writes nothing
else in the transaction reads (a new message and its outbox event) can be left there too
(`before_commit_ctes`), each with what its statement returns handed back to it then: the
whole write of a request can be one statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.transaction import Atomic

# The depth of `atomic` blocks at which the innermost all-or-nothing transaction runs, and
# the number of savepoint ids the connection had inside it then.
_depth: ContextVar[int | None] = ContextVar("all_or_nothing_depth", default=None)
_savepoints: ContextVar[int] = ContextVar("all_or_nothing_savepoints", default=0)


@dataclass(frozen=True)
class _Late:
    """Writes left to the end: data-modifying CTEs (`name AS (…)`), their params, and what
    the statement that runs them returns to `on_result` (an expression over them)."""

    ctes: tuple[str, ...]
    params: list[Any]
    result: str | None = None
    on_result: Callable[[Any], None] | None = None


# Writes left to the end of it.
_late: ContextVar[list[_Late] | None] = ContextVar("late", default=None)
_CTE_NAME = re.compile(r"^\s*(\w+)\s+AS\s*\(", re.IGNORECASE)


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
            for item in take_late():
                sql = f"WITH {', '.join(item.ctes)} SELECT {item.result or '1'}"
                with connection.cursor() as cursor:
                    cursor.execute(sql, item.params)
                    row = cursor.fetchone()
                if item.on_result is not None:
                    item.on_result(row[0] if row else None)
        finally:
            _late.reset(late)
            _savepoints.reset(savepoints)
            _depth.reset(depth)


def _leave(late: _Late) -> bool:
    pending = _late.get()
    if pending is None or _depth.get() is None:
        return False
    if any(sid is not None for sid in connection.savepoint_ids[_savepoints.get() :]):
        return False
    taken = {_cte_name(cte) for item in pending for cte in item.ctes}
    if any(_cte_name(cte) in taken for cte in late.ctes):
        return False  # the same writes twice in one transaction: the second runs in place
    pending.append(late)
    return True


def _cte_name(cte: str) -> str:
    match = _CTE_NAME.match(cte)
    assert match is not None, cte
    return match.group(1).lower()


def before_commit(sql: str, params: list[Any]) -> bool:
    """Leave a statement to the end of the all-or-nothing transaction this code runs in
    (with no savepoint in between, which could roll back without it); False when there is
    none: the caller runs it itself."""
    pending = _late.get()
    name = f"late_{len(pending) if pending is not None else 0}"
    return _leave(_Late(ctes=(f"{name} AS ({sql})",), params=list(params)))


def before_commit_ctes(
    ctes: Sequence[str],
    params: Sequence[Any],
    *,
    result: str | None = None,
    on_result: Callable[[Any], None] | None = None,
) -> bool:
    """`before_commit` for writes given as data-modifying CTEs (`name AS (…)`, names unique
    to them); `on_result` gets the value of the expression `result` over them once they run.
    False when they cannot be left (the caller runs them itself)."""
    return _leave(_Late(tuple(ctes), list(params), result, on_result))


def take_late() -> list[_Late]:
    """The writes left to the end of this transaction, now the caller's to run."""
    late = _late.get()
    if not late:
        return []
    taken = list(late)
    late.clear()
    return taken


def with_late(
    sql: str, params: list[Any]
) -> tuple[str, list[Any], Callable[[Sequence[Any] | None], None]]:
    """`sql` (one INSERT, UPDATE or DELETE without RETURNING) preceded by the writes left to
    the end of this transaction, as data-modifying CTEs of it: one statement for all
    (PostgreSQL). Also a function to call with the row it returns (None for none): it hands
    each write its result."""
    late = take_late() if connection.vendor == "postgresql" else []
    if not late:
        return sql, params, _nothing_returned
    ctes = ", ".join(cte for item in late for cte in item.ctes)
    late_params = [param for item in late for param in item.params]
    wanting = [item for item in late if item.on_result is not None]
    returning = ", ".join(item.result or "NULL" for item in wanting)

    def finish(row: Sequence[Any] | None) -> None:
        if row is None:
            return  # nothing was written (a conflict): the caller rolls all of it back
        for item, value in zip(wanting, row, strict=True):
            assert item.on_result is not None
            item.on_result(value)

    statement = f"WITH {ctes} {sql}" + (f" RETURNING {returning}" if wanting else "")
    return statement, late_params + params, finish


def _nothing_returned(row: Sequence[Any] | None) -> None:
    return None


def atomic_step() -> Atomic:
    """`atomic()` for a unit of work: without a savepoint directly inside `all_or_nothing()`
    (an error there marks the whole transaction for rollback), with one anywhere else."""
    inside = _depth.get() is not None and _depth.get() == len(connection.atomic_blocks)
    return transaction.atomic(savepoint=not inside)
