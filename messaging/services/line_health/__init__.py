"""Line health: each handle's state (healthy, at_risk, critical) judged from its last outbound
outcomes and what its new contacts did (docs/compliance.md, "Line health").

Cheap by construction: never per send. A handle is judged by `handle_health_evaluate`, which
reads its last N outcomes through the `message_outcome` index and counts its recent contacts
through `handle_contact_budget` and opt-outs through `opt_out_page`: a bounded handful of
statements whatever the size of the messages table. Beat runs `handles_health_evaluate` each
minute over the handles that dispatched lately or are not healthy (and each hour over all), and
a device-reported failure asks for the handle's judgement within seconds (`evaluate_soon`,
coalesced). The state is written by the handles app (`handles.services.handle_health_set`);
leaving `critical` releases the new-contact sends held for it (`held_release`, after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from handles import registry
from handles import services as handle_services
from handles.models import Handle
from messaging.models import HandleContact, HandleQueue
from messaging.services.line_health.rules import Assessment, Rules, health_assess
from messaging.services.line_health.signals import contact_signals, recent_outcomes
from messaging.services.releasing import held_release

logger = logging.getLogger(__name__)

EVALUATE_TASK = "messaging.tasks.line_health_evaluate_handle"
# A device-reported failure asks for a judgement this long after it (coalesced per handle: a
# burst of failures is one judgement, and a few seconds' outcomes are judged together).
SOON_DELAY = 2.0
# A marker whose task never ran (a lost broker message) stops holding requests back after this.
SOON_TTL = 60
# Handles that dispatched this recently are judged each minute (their outcomes come in).
ACTIVE_WITHIN = timedelta(minutes=10)


def rules() -> Rules:
    return Rules.of(settings.SWITCHBOARD_LINE_HEALTH)


def handle_health_assess(*, handle: Handle) -> Assessment:
    """Judge the handle now, from what happened since its last clear (nothing is written)."""
    current = rules()
    now = timezone.now()
    outcomes = recent_outcomes(handle=handle, limit=current.outcomes)
    contacts = contact_signals(handle=handle, rules=current, now=now)
    return health_assess(outcomes, contacts, current)


def handle_health_evaluate(*, handle_id: int) -> str | None:
    """Judge the handle and record its state (and the event if it moved); its state, or None
    for a handle that is gone or has no account."""
    handle = Handle.objects.filter(pk=handle_id, account__isnull=False).first()
    if handle is None:
        return None
    assessment = handle_health_assess(handle=handle)
    handle_services.handle_health_set(
        handle=handle,
        health=assessment.health,
        reasons=assessment.reasons,
        cleared_at=handle.health_cleared_at,
    )
    return handle.health


@dataclass(frozen=True)
class EvaluateResult:
    evaluated: int
    changed: int


def handles_health_evaluate(*, everything: bool = False) -> EvaluateResult:
    """Judge the handles that dispatched in the last `ACTIVE_WITHIN` or are not healthy (all
    assigned handles with `everything`: the contact signals move with time alone)."""
    handles = Handle.objects.filter(account__isnull=False)
    if not everything:
        active = HandleQueue.objects.filter(refilled_at__gte=timezone.now() - ACTIVE_WITHIN)
        handles = handles.filter(
            Q(pk__in=active.values("handle_id")) | ~Q(health=Handle.Health.HEALTHY)
        )
    evaluated = changed = 0
    for handle_id, before in handles.order_by("pk").values_list("pk", "health"):
        after = handle_health_evaluate(handle_id=handle_id)
        evaluated += 1
        changed += after is not None and after != before
    return EvaluateResult(evaluated, changed)


def _soon_key(handle_id: int) -> str:
    return f"line-health:soon:{handle_id}"


def evaluate_requested(*, handle_id: int) -> str | None:
    """The judgement `evaluate_soon` asked for: its marker is dropped first, so a failure
    reported from now on asks again (and one reported before is read by this judgement)."""
    cache.delete(_soon_key(handle_id))
    return handle_health_evaluate(handle_id=handle_id)


def evaluate_soon(handle_ids: Iterable[int]) -> None:
    """Judge these handles a moment after this transaction commits (once per handle per
    moment). A hint: if the cache or broker cannot take it, beat's minute run judges them."""
    wanted = sorted(set(handle_ids))
    if not wanted:
        return

    def publish() -> None:
        for handle_id in wanted:
            try:
                if cache.add(_soon_key(handle_id), 1, timeout=SOON_TTL):
                    current_app.send_task(EVALUATE_TASK, args=[handle_id], countdown=SOON_DELAY)
            except Exception:  # a hint: beat's minute run is the record
                logger.warning("line health: could not ask for handle %s's judgement", handle_id)

    transaction.on_commit(publish)


def contact_replied(*, handle_id: int, address: str, at: datetime) -> None:
    """`address` wrote to the handle at `at`: if the handle wrote to them first (a budget
    slot) and they had not answered yet, they now have (the unanswered-ratio signal)."""
    HandleContact.objects.filter(
        handle_id=handle_id,
        address=address,
        budget_used_at__isnull=False,
        budget_used_at__lte=at,
        replied_at__isnull=True,
    ).update(replied_at=at)


@registry.on_handle_health_changed
def release_when_not_critical(handle: Handle, previous: str) -> None:
    """A handle leaving `critical` (recovered or cleared) sends what it held for its health."""
    if previous == Handle.Health.CRITICAL and handle.health != Handle.Health.CRITICAL:
        handle_id = handle.pk

        def release() -> None:
            held_release(handle_id=handle_id)

        transaction.on_commit(release, robust=True)


__all__ = [
    "Assessment",
    "EvaluateResult",
    "contact_replied",
    "evaluate_requested",
    "evaluate_soon",
    "handle_health_assess",
    "handle_health_evaluate",
    "handles_health_evaluate",
    "rules",
]
