"""Publishing events: the outbox other apps write to, in the transaction of their change."""

from __future__ import annotations

from typing import Any

from accounts.models import Account
from webhooks.events import EVENT_TYPES
from webhooks.models import Event


def event_publish(*, account: Account | str, type: str, data: dict[str, Any]) -> Event:
    """Record that `type` happened to `data`; delivered to the account's webhooks later.

    Call it inside the transaction that made the change: the event exists if and only if
    the change does.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    account_id = account if isinstance(account, str) else account.pk
    return Event.objects.create(account_id=account_id, type=type, data=data)
