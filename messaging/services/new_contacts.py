"""New-contact budgets: whom each handle knows, holding what it may not send yet, releasing it.

A handle knows an address once it has a `HandleContact` row: written when the handle first
messages someone (an accepted send, or a held one released) or someone first writes to it
(inbound). Messaging an address it does not know takes one slot of its budget
(`Handle.new_contact_budget` per rolling 24 hours; NULL is no limit): `budget_used_at` is
when. A send that would exceed it, or that reaches a new contact while the handle's line is
`critical` and its account pauses such handles, is held: `scheduled` with no `send_at` and a
`status_reason`, FIFO, until `releasing.held_release` lets it go (docs/compliance.md).

Races: every decision that takes slots holds the handle's budget lock (a transaction-level
advisory lock, `lock_budget`) and counts after taking it, so two sends racing for the last slot
cannot both take it; a release claims each message with a conditional UPDATE (still held),
so a release racing another release or a cancel queues nothing twice.

What the send path pays (issue 12): a send to a known contact nothing beyond the routing
read, which carries the handle's `Standing` (`standing_sql`); a send to a new contact the
lock and one statement that counts and records the contact, or, on an unlimited handle, that
statement alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from contract import raw
from handles import registry
from handles.models import Handle
from messaging.models import HandleContact, Message

if TYPE_CHECKING:
    from messaging.services.routing import Route

WINDOW = timedelta(hours=24)
NEW_CONTACT_BUDGET = "new_contact_budget"
LINE_HEALTH = "line_health"
REASONS = (NEW_CONTACT_BUDGET, LINE_HEALTH)
# The advisory-lock space of the budget locks (one key per handle: space << 32 | handle id).
_LOCK_SPACE = 14_002
# What one release looks at per handle, oldest first (the beat task comes back each minute).
RELEASE_BATCH = 1000
RELEASE_TASK = "messaging.tasks.held_release"
HEADER = "X-New-Contacts-Remaining"
# A route's fact not read yet (routing reads what it can in its one SELECT; `admit` the rest).
NOT_READ: Any = object()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Standing:
    """What one read tells of a handle for a send: the slots it used in the window and how
    many of the send's recipients it knows."""

    used: int
    known: int


@dataclass(frozen=True)
class Admission:
    """A send's answer: held (`reason`) or not, and the budget left after it (None: none)."""

    reason: str
    remaining: int | None


@dataclass(frozen=True)
class Usage:
    """A handle's budget as the API shows it: `{used, budget, resets_at}`."""

    used: int
    budget: int | None
    resets_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"used": self.used, "budget": self.budget, "resets_at": self.resets_at}


def window_start(now: datetime) -> datetime:
    return now - WINDOW


# --- the rules --------------------------------------------------------------------------


def new_contact_block(
    handle: Handle, account: Account | None, *, used: int | None = None, new: int = 1
) -> str | None:
    """Whether `handle` may message `new` new contacts now: None, `line_health` (its line is
    critical and its account pauses such handles) or `new_contact_budget` (no slot left).

    `used` is its slots in the window when already read (else read here)."""
    if (
        handle.health == Handle.Health.CRITICAL
        and account is not None
        and account.health_auto_pause
    ):
        return LINE_HEALTH
    budget = handle.new_contact_budget
    if budget is None:
        return None
    if used is None:
        used = slots_used(handle_id=handle.pk, now=timezone.now())
    return NEW_CONTACT_BUDGET if used + new > budget else None


def slots_used(*, handle_id: int, now: datetime) -> int:
    return HandleContact.objects.filter(
        handle_id=handle_id, budget_used_at__gt=window_start(now)
    ).count()


def remaining_of(handle: Handle, used: int) -> int | None:
    budget = handle.new_contact_budget
    return None if budget is None else max(0, budget - used)


def budget_usage(handles: Iterable[Handle], *, now: datetime | None = None) -> dict[int, Usage]:
    """Each handle's `{used, budget, resets_at}`, in one read.

    `resets_at` is when a slot next frees, for a handle with none left: when the slot whose
    leaving brings `used` under the budget leaves the window (the oldest one, unless the
    budget was lowered below what was used); null with slots left, without a limit, or with
    a budget of 0 (nothing ever frees)."""
    now = now or timezone.now()
    handles = list(handles)
    slots: dict[int, list[datetime]] = {handle.pk: [] for handle in handles}
    rows = (
        HandleContact.objects.filter(
            handle_id__in=list(slots), budget_used_at__gt=window_start(now)
        )
        .order_by("handle_id", "budget_used_at")
        .values_list("handle_id", "budget_used_at")
    )
    for handle_id, used_at in rows:
        if used_at is not None:
            slots[handle_id].append(used_at)
    usage: dict[int, Usage] = {}
    for handle in handles:
        taken, budget = slots[handle.pk], handle.new_contact_budget
        resets_at = None
        if budget is not None and budget > 0 and len(taken) >= budget:
            resets_at = taken[len(taken) - budget] + WINDOW
        usage[handle.pk] = Usage(len(taken), budget, resets_at)
    return usage


def handle_usage_many(handles: Iterable[Handle]) -> dict[int, dict[str, Any]]:
    """`budget_usage` as the handles API renders it (registered with `handles.registry`)."""
    return {pk: usage.as_dict() for pk, usage in budget_usage(handles).items()}


def operator_annotations() -> dict[str, Any]:
    """The operators' handle list's column (registered with `handles.registry`): slots each
    handle used in the window, a subquery over the `handle_contact_budget` index."""
    return {"contacts_used": standing_annotations([], timezone.now())["contact_used"]}


# --- what the send's read carries -------------------------------------------------------


def standing_sql(handle_column: str) -> str:
    """Two columns for a routing SELECT: the slots the handle at `handle_column` used in the
    window, and how many of the recipients it knows. Parameters: `standing_params`."""
    table = raw.table(HandleContact)
    # One parameter for all the recipients, so the statement keeps one shape (prepared once):
    # an array on PostgreSQL, a JSON list on the embedded SQLite.
    among = (
        "= ANY(%s)" if connection.vendor == "postgresql" else "IN (SELECT value FROM json_each(%s))"
    )
    return (
        f"(SELECT count(*) FROM {table} WHERE handle_id = {handle_column} "  # noqa: S608
        "AND budget_used_at > %s), "
        f"(SELECT count(*) FROM {table} WHERE handle_id = {handle_column} "
        f"AND address {among})"
    )


def standing_params(recipients: Sequence[str], now: datetime) -> list[Any]:
    if connection.vendor == "postgresql":
        return [window_start(now), list(recipients)]
    return [window_start(now), json.dumps(list(recipients))]


def standing_annotations(recipients: Sequence[str], now: datetime) -> dict[str, Any]:
    """The same two columns for an ORM query of handles (`contact_used`, `contact_known`)."""

    def counted(**lookups: Any) -> Coalesce:
        rows = (
            HandleContact.objects.filter(handle=OuterRef("pk"), **lookups)
            .order_by()
            .values("handle")
            .annotate(n=Count("id"))
            .values("n")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    return {
        "contact_used": counted(budget_used_at__gt=window_start(now)),
        "contact_known": counted(address__in=list(recipients)),
    }


def standing_of(handle: Handle) -> Standing:
    """The `Standing` read with a handle by `standing_annotations`."""
    return Standing(handle.contact_used, handle.contact_known)  # type: ignore[attr-defined]


def standings(
    handles: Sequence[Handle], recipients: Sequence[str], now: datetime
) -> dict[int, Standing]:
    """Each handle's `Standing` for these recipients, in one read."""
    rows = Handle.objects.filter(pk__in=[handle.pk for handle in handles]).annotate(
        **standing_annotations(recipients, now)
    )
    return {handle.pk: standing_of(handle) for handle in rows.only("pk")}


# --- the send ---------------------------------------------------------------------------


def lock_budget(handle_id: int) -> None:
    """Take the handle's budget lock until the transaction ends (PostgreSQL; SQLite
    serializes writers already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [(_LOCK_SPACE << 32) | handle_id])


@cache
def _take_sql() -> str:
    """Count the handle's slots (after its lock), and record the recipients it does not know
    with a slot each if they all fit (or the budget is NULL): (used before, new, recorded)."""
    table = raw.table(HandleContact)
    return (
        f"WITH used AS (SELECT count(*) AS n FROM {table} "  # noqa: S608
        "WHERE handle_id = %(handle)s AND budget_used_at > %(since)s), "
        "fresh AS (SELECT DISTINCT a.address FROM unnest(%(addresses)s::varchar[]) AS a(address) "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} c "
        "WHERE c.handle_id = %(handle)s AND c.address = a.address)), "
        f"recorded AS (INSERT INTO {table} (handle_id, address, created_at, budget_used_at) "
        "SELECT %(handle)s, address, %(now)s, %(now)s FROM fresh "
        "WHERE %(budget)s::int IS NULL "
        "OR (SELECT n FROM used) + (SELECT count(*) FROM fresh) <= %(budget)s::int "
        "ON CONFLICT (handle_id, address) DO NOTHING RETURNING 1) "
        "SELECT (SELECT n FROM used), (SELECT count(*) FROM fresh), (SELECT count(*) FROM recorded)"
    )


def _take(handle: Handle, recipients: Sequence[str], now: datetime) -> tuple[int, int, int]:
    """(slots used before, recipients new to it, recorded now) under the handle's lock."""
    budget = handle.new_contact_budget
    if budget is not None:
        lock_budget(handle.pk)
    if connection.vendor == "postgresql":
        params: dict[str, Any] = {
            "handle": handle.pk,
            "since": window_start(now),
            "addresses": list(recipients),
            "now": now,
            "budget": budget,
        }
        with connection.cursor() as cursor:
            cursor.execute(_take_sql(), params)
            used, fresh, recorded = cursor.fetchone()
        return int(used), int(fresh), int(recorded)
    used = slots_used(handle_id=handle.pk, now=now)
    known = set(
        HandleContact.objects.filter(handle=handle, address__in=recipients).values_list(
            "address", flat=True
        )
    )
    new = [address for address in dict.fromkeys(recipients) if address not in known]
    if new and (budget is None or used + len(new) <= budget):
        HandleContact.objects.bulk_create(
            [
                HandleContact(handle=handle, address=address, created_at=now, budget_used_at=now)
                for address in new
            ],
            ignore_conflicts=True,
        )
        return used, len(new), len(new)
    return used, len(new), 0


def admit(*, account: Account, route: Route, now: datetime) -> Admission:
    """Whether a send may go out now from its route's handle (recording new contacts, with a
    slot each, when it may) or is held, and why. In the send's transaction."""
    handle, recipients = route.handle, route.recipients
    standing: Standing | None = route.standing
    if standing is NOT_READ:
        standing = standings([handle], recipients, now)[handle.pk]
    assert standing is not None
    if standing.known >= len(set(recipients)):
        return Admission("", remaining_of(handle, standing.used))
    if new_contact_block(handle, account, used=0, new=0) == LINE_HEALTH:
        return Admission(LINE_HEALTH, remaining_of(handle, standing.used))
    used, fresh, recorded = _take(handle, recipients, now)
    if fresh and not recorded:
        return Admission(NEW_CONTACT_BUDGET, remaining_of(handle, used))
    return Admission("", remaining_of(handle, used + recorded))


# --- what a device tells ----------------------------------------------------------------


@cache
def _heard_sql() -> str:
    """Record the people of an inbound message as known; whether one was new and the handle
    holds messages (then a release may free some)."""
    table, messages = raw.table(HandleContact), raw.table(Message)
    return (
        f"WITH heard AS (INSERT INTO {table} (handle_id, address, created_at) "  # noqa: S608
        "SELECT %(handle)s, a.address, %(at)s FROM unnest(%(addresses)s::varchar[]) "
        "AS a(address) ON CONFLICT (handle_id, address) DO NOTHING RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM heard) AND EXISTS (SELECT 1 FROM "
        f"{messages} WHERE handle_id = %(handle)s AND status = 'scheduled' AND send_at IS NULL)"
    )


def contacts_heard(*, handle: Handle, sender: str, others: Sequence[str], at: datetime) -> None:
    """Someone wrote to `handle`: the sender and the chat's other people are known from now
    (their reply is line health's: `line_health.contact_replied`). If that made someone
    known while the handle holds messages, a release runs after commit."""
    addresses = sorted({sender, *others} - {handle.address})
    if not addresses:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_heard_sql(), {"handle": handle.pk, "at": at, "addresses": addresses})
            release = bool(cursor.fetchone()[0])
    else:
        known = set(
            HandleContact.objects.filter(handle=handle, address__in=addresses).values_list(
                "address", flat=True
            )
        )
        HandleContact.objects.bulk_create(
            [
                HandleContact(handle=handle, address=address, created_at=at)
                for address in addresses
                if address not in known
            ],
            ignore_conflicts=True,
        )
        release = len(known) < len(addresses) and held_exists(handle_id=handle.pk)
    if release:
        handle_id = handle.pk
        transaction.on_commit(lambda: release_soon(handle_id))


def held_exists(*, handle_id: int) -> bool:
    return Message.objects.filter(
        handle_id=handle_id, status=Message.Status.SCHEDULED, send_at__isnull=True
    ).exists()


@registry.on_handle_budget_changed
def release_soon(handle_id: int) -> None:
    """Run `held_release` for the handle in a worker (a hint: the beat task runs it anyway)."""
    try:
        current_app.send_task(RELEASE_TASK, args=(handle_id,))
    except Exception:  # the broker is away: the minute's sweep releases it
        logger.exception("could not ask for a release of handle %s", handle_id)
