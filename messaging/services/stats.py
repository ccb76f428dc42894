"""Daily counts per handle (sent, delivered, read, failed, received), kept as messages move.

Counted once per message and outcome, on the day (UTC) it happened: `sent` when a message
first reaches sent, `delivered` when it first reaches delivered or read, `read`, `failed`
and `received` likewise. A retry that goes out again counts again: it is another attempt.
Rows are per handle so concurrent updates of one busy account spread over its numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import IntegrityError, transaction
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
