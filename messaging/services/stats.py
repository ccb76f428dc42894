"""Daily counts per handle (sent, delivered, read, failed, received), kept as messages move.

Counted once per message and outcome, on the day (UTC) it happened: `sent` when a message
first reaches sent, `delivered` when it first reaches delivered or read, `read`, `failed`
and `received` likewise. A retry that goes out again counts again: it is another attempt.
Rows are per handle so concurrent updates of one busy account spread over its numbers.
A batch of changes (`count_many`) is counted in one upsert statement, whatever its size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from messaging.models import DailyCount, Message

Status = Message.Status
_AT_LEAST = {
    "sent": (Status.SENT, Status.DELIVERED, Status.READ),
    "delivered": (Status.DELIVERED, Status.READ),
    "read": (Status.READ,),
}


def outcomes_reached(before: str, after: str) -> list[str]:
    """The counters a move from status `before` to `after` adds one to."""
    if after == Status.FAILED:
        return ["failed"]
    if after == Status.RECEIVED:
        return ["received"]
    return [
        name for name, statuses in _AT_LEAST.items() if after in statuses and before not in statuses
    ]


def count(message: Message, outcomes: list[str], *, at: datetime) -> None:
    """Add one to each of `outcomes` for the message's handle on the day of `at`."""
    if not outcomes:
        return
    keys = {
        "account_id": message.account_id,
        "handle_id": message.handle_id,
        "day": at.astimezone(UTC).date(),
    }
    increments = {name: F(name) + 1 for name in outcomes}
    if DailyCount.objects.filter(**keys).update(**increments):
        return
    try:
        with transaction.atomic():
            DailyCount.objects.create(**keys, **dict.fromkeys(outcomes, 1))
    except IntegrityError:  # made by a concurrent first count of the day: add to it
        DailyCount.objects.filter(**keys).update(**increments)


COUNTERS = ("sent", "delivered", "read", "failed", "received")


def count_many(counts: Iterable[tuple[Message, list[str], datetime]]) -> None:
    """Add each (message, outcomes, at) like `count` does, in one upsert for the whole batch."""
    rows: dict[tuple[str, int, date], Counter[str]] = {}
    for message, outcomes, at in counts:
        key = (message.account_id, message.handle_id, at.astimezone(UTC).date())
        rows.setdefault(key, Counter()).update(outcomes)
    rows = {key: added for key, added in rows.items() if added}
    if not rows:
        return
    table = connection.ops.quote_name(DailyCount._meta.db_table)
    columns = ", ".join(COUNTERS)
    row = "(%s, %s, %s, " + ", ".join(["%s"] * len(COUNTERS)) + ")"
    increments = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTERS)
    params: list[str | int | date] = []
    # In key order, so two batches lock the rows they share in the same order.
    for (account_id, handle_id, day), added in sorted(rows.items()):
        params += [account_id, handle_id, day, *(added[name] for name in COUNTERS)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, handle_id, day, {columns}) "  # noqa: S608
            f"VALUES {', '.join([row] * len(rows))} "
            f"ON CONFLICT (account_id, handle_id, day) DO UPDATE SET {increments}",
            params,
        )
