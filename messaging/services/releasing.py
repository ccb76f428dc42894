"""Releasing held messages: what a handle may now send of what waits for its new-contact
budget or its line health, oldest first (docs/compliance.md).

A release holds the handle's budget lock (`new_contacts`), so it counts slots as a send would;
it claims each message with a conditional UPDATE (still held), so a release racing another
release, or a cancel, queues nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from django.db import connection, transaction
from django.utils import timezone

from contract import raw
from handles.models import Handle
from messaging.models import HandleContact, Message
from messaging.services.lifecycle import Transition, dispatch_soon, messages_transition
from messaging.services.new_contacts import (
    LINE_HEALTH,
    RELEASE_BATCH,
    lock_budget,
    logger,
    new_contact_block,
    slots_used,
)
from messaging.services.opt_outs import recipients_of


@cache
def _claim_sql() -> str:
    return (
        f"UPDATE {raw.table(Message)} SET status_reason = '' "  # noqa: S608
        "WHERE id = ANY(%s) AND status = 'scheduled' AND send_at IS NULL RETURNING id"
    )


def _claim(ids: list[str]) -> set[str]:
    """Take these messages out of held (those still held): the ids taken."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_claim_sql(), [ids])
            return {row[0] for row in cursor.fetchall()}
    held = Message.objects.filter(pk__in=ids, status=Message.Status.SCHEDULED, send_at__isnull=True)
    taken = set(held.values_list("pk", flat=True))
    Message.objects.filter(pk__in=taken).update(status_reason="")
    return taken


def held_release(*, handle_id: int, now: datetime | None = None) -> int:
    """Release what the handle may now send, oldest first; the number released.

    A held message goes when all its recipients are known, or when the new ones fit in the
    budget and the line is not paused for health (each new contact takes a slot; several
    messages to one contact take one). FIFO for new contacts: once one does not fit, no later
    one takes a slot in this run. Released messages are `queued` (queued now, a history row,
    `message.queued`) and the dispatcher is woken; they go out at the handle's pace."""
    now = now or timezone.now()
    with transaction.atomic():
        handle = Handle.objects.select_related("account").filter(pk=handle_id).first()
        if handle is None:
            return 0
        lock_budget(handle_id)
        held = list(
            Message.objects.select_for_update(of=("self",), no_key=True, skip_locked=True)
            .filter(handle_id=handle_id, status=Message.Status.SCHEDULED, send_at__isnull=True)
            .prefetch_related("attachments", "reactions")
            .order_by("created_at", "id")[:RELEASE_BATCH]
        )
        if not held:
            return 0
        addresses = {address for message in held for address in recipients_of(message)}
        known = set(
            HandleContact.objects.filter(handle_id=handle_id, address__in=addresses).values_list(
                "address", flat=True
            )
        )
        admitting = new_contact_block(handle, handle.account, used=0, new=0) != LINE_HEALTH
        budget = handle.new_contact_budget
        used = slots_used(handle_id=handle_id, now=now) if budget is not None else 0
        going: list[Message] = []
        recorded: dict[str, HandleContact] = {}
        for message in held:
            new = [a for a in dict.fromkeys(recipients_of(message)) if a not in known]
            if new:
                if not admitting or (budget is not None and used + len(new) > budget):
                    admitting = False
                    continue
                used += len(new)
                known.update(new)
                for address in new:
                    recorded[address] = HandleContact(
                        handle_id=handle_id, address=address, created_at=now, budget_used_at=now
                    )
            going.append(message)
        if not going:
            return 0
        taken = _claim([message.pk for message in going])
        going = [message for message in going if message.pk in taken]
        HandleContact.objects.bulk_create(list(recorded.values()), ignore_conflicts=True)
        transitions = []
        for n, message in enumerate(going):
            detail = f"released: was held ({message.status_reason or 'held'})"
            # Queued now, in the order they were accepted (the queue's order is queued_at,
            # then the id, which is random): a microsecond apart.
            message.queued_at = now + timedelta(microseconds=n)
            message.status_reason = ""
            transitions.append(
                Transition(
                    message,
                    Message.Status.QUEUED,
                    source="new_contacts",
                    detail=detail,
                    save=("queued_at",),
                )
            )
        messages_transition(transitions=transitions)
        if going:
            dispatch_soon(handle_id)
        return len(going)


def held_handles() -> list[int]:
    """The handles that hold messages (read through the `message_held` index)."""
    return list(
        Message.objects.filter(status=Message.Status.SCHEDULED, send_at__isnull=True)
        .order_by("handle_id")
        .values_list("handle_id", flat=True)
        .distinct()
    )


def held_release_all(*, now: datetime | None = None) -> dict[int, int]:
    """`held_release` for every handle that holds messages (the beat task, every minute);
    one handle's failure is logged and does not stop the others."""
    released: dict[int, int] = {}
    for handle_id in held_handles():
        try:
            released[handle_id] = held_release(handle_id=handle_id, now=now)
        except Exception:
            logger.exception("release of handle %s failed", handle_id)
    return released
