"""What line health reads about a handle: its last outcomes and its new contacts' answers.

Each read is bounded by an index: the outcomes by `message_outcome` (the handle's outbound
messages that reached an outcome, newest first, LIMIT N), the contacts by
`handle_contact_budget`, the opt-outs by `opt_out_page`. Nothing from before the handle's last
clear (`health_cleared_at`) is read.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q

from handles.models import Channel, Handle
from messaging.models import HandleContact, Message, MessageStatusEvent, OptOut
from messaging.services.line_health.rules import ContactSignals, Outcome, Rules

# The statuses an outbound message ends its attempt in: the rows of the `message_outcome`
# index (keep the two equal, or the planner cannot use it).
OUTCOME_STATUSES = [
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.READ,
    Message.Status.FAILED,
]
# Failures the platform decided, not the line: they say nothing of the handle's health.
PLATFORM_CODES = ["canceled", "expired", "handle_unassigned", "recipient_opted_out"]
# How an iMessage send answered `not_registered` and re-queued as SMS is recorded (its history
# row: messaging.services.inbound): the message ends on SMS, the attempt counts for iMessage.
FALLBACK_DETAIL = "Recipient is not on iMessage (not_registered)"


def recent_outcomes(*, handle: Handle, limit: int) -> list[Outcome]:
    """The handle's last `limit` outcomes since its last clear, newest first."""
    fell_back = MessageStatusEvent.objects.filter(
        message=OuterRef("pk"),
        status=Message.Status.QUEUED,
        detail__startswith=FALLBACK_DETAIL,
    )
    rows = (
        Message.objects.filter(
            handle_id=handle.pk,
            direction=Message.Direction.OUTBOUND,
            status__in=OUTCOME_STATUSES,
        )
        .exclude(status=Message.Status.FAILED, error_code__in=PLATFORM_CODES)
        .annotate(fell_back=Exists(fell_back))
        .order_by("-created_at", "-id")
        .values_list("status", "channel", "error_code", "fell_back")
    )
    if handle.health_cleared_at is not None:
        rows = rows.filter(created_at__gte=handle.health_cleared_at)
    outcomes = []
    for status, channel, error_code, fell_back_to_sms in rows[:limit]:
        not_registered = fell_back_to_sms or (
            status == Message.Status.FAILED and error_code == "not_registered"
        )
        outcomes.append(
            Outcome(
                failed=status == Message.Status.FAILED,
                imessage=channel == Channel.IMESSAGE or fell_back_to_sms,
                not_registered=not_registered,
            )
        )
    return outcomes


def contact_signals(*, handle: Handle, rules: Rules, now: datetime) -> ContactSignals:
    """What the people the handle wrote to first did, in the window (since its last clear)."""
    since = now - rules.window
    if handle.health_cleared_at is not None and handle.health_cleared_at > since:
        since = handle.health_cleared_at
    settled_before = now - rules.grace
    counts = HandleContact.objects.filter(handle_id=handle.pk, budget_used_at__gte=since).aggregate(
        new_contacts=Count("pk"),
        settled=Count("pk", filter=Q(budget_used_at__lt=settled_before)),
        unanswered=Count(
            "pk", filter=Q(budget_used_at__lt=settled_before, replied_at__isnull=True)
        ),
    )
    opted_out = OptOut.objects.filter(
        account_id=handle.account_id,
        source=OptOut.Source.KEYWORD,
        created_at__gte=since,
        message__handle_id=handle.pk,
    ).count()
    return ContactSignals(
        new_contacts=counts["new_contacts"],
        opted_out=opted_out,
        settled=counts["settled"],
        unanswered=counts["unanswered"],
    )
