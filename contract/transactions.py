"""Transactions in which any error discards all the work, so inner blocks need no savepoint.

A nested `atomic()` costs two statements (SAVEPOINT, RELEASE) so that an error inside it can
be rolled back alone while the outer transaction goes on. Inside `all_or_nothing()` nothing
goes on after an error: its owner rolls the whole transaction back. A block opened directly
inside it may then skip its savepoint: `atomic_step()` does exactly when that is safe, and
is an ordinary nested `atomic()` everywhere else (inside a test's transaction, say).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
from django.db.transaction import Atomic

# The depth of `atomic` blocks at which the innermost all-or-nothing transaction runs.
_depth: ContextVar[int | None] = ContextVar("all_or_nothing_depth", default=None)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """`atomic()`, promising that an error inside leaves it by an exception (rolling back all
    of it): no query runs in it after an error."""
    with transaction.atomic():
        token = _depth.set(len(connection.atomic_blocks))
        try:
            yield
        finally:
            _depth.reset(token)


def atomic_step() -> Atomic:
    """`atomic()` for a unit of work: without a savepoint directly inside `all_or_nothing()`
    (an error there marks the whole transaction for rollback), with one anywhere else."""
    inside = _depth.get() is not None and _depth.get() == len(connection.atomic_blocks)
    return transaction.atomic(savepoint=not inside)
