"""The overview's cards: what `monitoring.selectors` found, as rows of cells with links.

Each card links to the admin changelist filtered to what it shows (the filters it needs are
in the apps' admin modules), and each row to the object's own admin page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.models import Account
from handles.models import Handle
from monitoring import selectors


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    description: str
    link: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    more: bool = False
    empty: str = "Nothing here."
    # Other filtered lists the card's rows come from (label, url).
    also: list[tuple[str, str]] = field(default_factory=list)


def _changelist(model: str, **filters: object) -> str:
    url = reverse(f"admin:{model.replace('.', '_')}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _change(model: str, pk: object) -> str:
    return reverse(f"admin:{model.replace('.', '_')}_change", args=[pk])


def _stamp(at: datetime) -> str:
    """A time as a changelist filter takes it: ISO 8601 with its offset (never naive)."""
    return at.isoformat(timespec="seconds")


def _ago(at: datetime | None, now: datetime) -> Cell:
    if at is None:
        return Cell("never")
    return Cell(f"{timesince(at, now)} ago", title=at.isoformat(timespec="seconds"))


def _account(account: Account | None) -> Cell:
    if account is None:
        return Cell("—")
    return Cell(account.name, url=_change("accounts.account", account.pk), title=account.pk)


def _handles_offline(now: datetime) -> Card:
    found = selectors.handles_offline()
    return Card(
        key="handles-offline",
        title="Handles offline",
        description="Assigned numbers whose device stopped calling: nothing they queue goes out.",
        link=_changelist("handles.handle", status__exact="offline", account__isnull="False"),
        columns=["Handle", "Account", "Offline since"],
        rows=[
            [
                _handle(handle),
                _account(handle.account),
                _ago(handle.status_changed_at, now),
            ]
            for handle in found.rows
        ],
        more=found.more,
        empty="Every assigned handle is online.",
    )


def _line_health(now: datetime) -> Card:
    found = selectors.handles_unhealthy()
    return Card(
        key="line-health",
        title="Line health at risk or critical",
        description=(
            "Numbers whose recent sends, opt-outs or unanswered new contacts look like a line "
            "about to be filtered or banned. A critical one holds its sends to new contacts "
            "(if its account auto-pauses); clear it once the cause is fixed."
        ),
        link=_changelist("handles.handle", health__exact="critical"),
        also=[("At risk", _changelist("handles.handle", health__exact="at_risk"))],
        columns=["Handle", "Account", "Health", "Why", "Since"],
        rows=[
            [
                _handle(handle),
                _account(handle.account),
                Cell(handle.get_health_display()),
                Cell("; ".join(reason["message"] for reason in handle.health_reasons or []) or "—"),
                _ago(handle.health_changed_at, now),
            ]
            for handle in found.rows
        ],
        more=found.more,
        empty="Every assigned handle is healthy.",
    )


def _handle(handle: Handle) -> Cell:
    """The handle, linked to its admin page; marked when an operator paused it."""
    text = f"{handle.address} (paused)" if handle.paused else handle.address
    return Cell(text, url=_change("handles.handle", handle.pk))


def _depth(depth: int) -> str:
    if depth >= selectors.DEPTH_COUNTED_UP_TO:
        return f"{selectors.DEPTH_COUNTED_UP_TO:,}+"
    return f"{depth:,}"


def _queues(now: datetime) -> Card:
    found = selectors.queues_backed_up(now=now)
    depth = int(settings.SWITCHBOARD_OVERVIEW_QUEUE_DEPTH)
    minutes = int(settings.SWITCHBOARD_OVERVIEW_QUEUE_AGE_MINUTES)
    return Card(
        key="queues",
        title="Queues backing up",
        description=(
            f"Handles with more than {depth:,} queued messages, or one queued for over "
            f"{minutes} minutes. A paused handle's queue waits for an operator."
        ),
        link=_changelist("messaging.message", status__exact="queued"),
        columns=["Handle", "Account", "Queued", "Oldest queued"],
        rows=[
            [
                _handle(handle),
                _account(handle.account),
                Cell(
                    _depth(handle.depth),
                    url=_changelist("messaging.message", status__exact="queued", q=handle.address),
                ),
                _ago(handle.oldest_queued_at, now),
            ]
            for handle in found.rows
        ],
        more=found.more,
        empty="No queue is deeper or older than that.",
    )


def _failures(now: datetime) -> Card:
    found = selectors.failures_last_hour(now=now)
    since = _stamp(now - timedelta(hours=1))
    return Card(
        key="failures",
        title="Failed in the last hour",
        description="Messages that failed in the last hour, by error code and account.",
        link=_changelist("messaging.message", status__exact="failed", failed_at__gte=since),
        columns=["Error code", "Account", "Failed", "Last"],
        rows=[
            [
                Cell(group["error_code"] or "(none)"),
                Cell(
                    group["account__name"],
                    url=_change("accounts.account", group["account_id"]),
                    title=group["account_id"],
                ),
                Cell(
                    f"{group['failed']:,}",
                    url=_changelist(
                        "messaging.message",
                        status__exact="failed",
                        error_code=group["error_code"],
                        account__id__exact=group["account_id"],
                        failed_at__gte=since,
                    ),
                ),
                _ago(group["last_failed_at"], now),
            ]
            for group in found.rows
        ],
        more=found.more,
        empty="No message failed in the last hour.",
    )


def _stuck_sending(now: datetime) -> Card:
    found = selectors.messages_stuck_sending(now=now)
    seconds = int(settings.SWITCHBOARD_SYNC_ACTION_TIMEOUT)
    return Card(
        key="stuck-sending",
        title="Stuck in sending",
        description=f"Handed to a device over {seconds} s ago and not reported sent or failed.",
        link=_changelist("messaging.message", stuck="1"),
        columns=["Message", "Account", "From", "Sending since"],
        rows=[
            [
                Cell(message.id, url=_change("messaging.message", message.pk)),
                _account(message.account),
                Cell(message.from_handle),
                _ago(message.job.created_at if message.job else None, now),
            ]
            for message in found.rows
        ],
        more=found.more,
        empty="No message is stuck in sending.",
    )


HELD_FOR = {"new_contact_budget": "new-contact budget", "line_health": "line health"}


def _held(now: datetime) -> Card:
    found = selectors.messages_held()
    held = {"status__exact": "scheduled", "send_at__isnull": "True"}
    return Card(
        key="held",
        title="Messages held for budget / health",
        description=(
            "Sends to new contacts waiting for their handle's new-contact budget to renew "
            "(rolling 24 h) or its line to leave critical health; released oldest first."
        ),
        link=_changelist("messaging.message", **held),
        columns=["Handle", "Account", "Held for", "Held", "Oldest"],
        rows=[
            [
                Cell(row["handle__address"], url=_change("handles.handle", row["handle_id"])),
                Cell(
                    row["account__name"] or "—",
                    url=_change("accounts.account", row["account_id"]),
                    title=row["account_id"],
                ),
                Cell(HELD_FOR.get(row["status_reason"], row["status_reason"] or "—")),
                Cell(
                    f"{row['held']:,}",
                    url=_changelist("messaging.message", **held, q=row["handle__address"]),
                ),
                _ago(row["oldest_held_at"], now),
            ]
            for row in found.rows
        ],
        more=found.more,
        empty="No message is held.",
    )


def _endpoints(now: datetime) -> Card:
    found = selectors.endpoints_failing()
    return Card(
        key="endpoints",
        title="Webhook endpoints failing",
        description="Every attempt failing since the time shown, or disabled (after 5 days of "
        "failures, a 410, or by their owner).",
        link=_changelist("webhooks.webhookendpoint", failing_since__isnull="False"),
        also=[("Disabled", _changelist("webhooks.webhookendpoint", enabled__exact="0"))],
        columns=["Endpoint", "Account", "Failing since", "Disabled"],
        rows=[
            [
                Cell(endpoint.url, url=_change("webhooks.webhookendpoint", endpoint.pk)),
                _account(endpoint.account),
                _ago(endpoint.failing_since, now) if endpoint.failing_since else Cell("—"),
                Cell(
                    (endpoint.disabled_reason or "yes") if not endpoint.enabled else "no",
                ),
            ]
            for endpoint in found.rows
        ],
        more=found.more,
        empty="Every endpoint is answering.",
    )


def _devices(now: datetime) -> Card:
    found = selectors.devices_silent(now=now)
    seconds = int(settings.SWITCHBOARD_DEVICE_OFFLINE_AFTER)
    return Card(
        key="devices",
        title="Devices not calling in",
        description=f"Live devices silent for over {seconds} s, or never heard from.",
        link=_changelist(
            "handles.device",
            revoked_at__isnull="True",
            last_seen_at__lt=_stamp(now - timedelta(seconds=seconds)),
        ),
        also=[
            (
                "Never called",
                _changelist(
                    "handles.device", revoked_at__isnull="True", last_seen_at__isnull="True"
                ),
            )
        ],
        columns=["Device", "Handle", "Account", "Last call"],
        rows=[
            [
                Cell(device.id, url=_change("handles.device", device.pk)),
                Cell(device.handle.address, url=_change("handles.handle", device.handle_id)),
                _account(device.handle.account),
                _ago(device.last_seen_at, now),
            ]
            for device in found.rows
        ],
        more=found.more,
        empty="Every live device called in.",
    )


# Each card, in the order an operator reads them, with the permission it needs: what the
# admin would show this operator of the objects it lists (a staff user who may not view
# messages sees no card of messages, and no query is made for it).
CARDS: list[tuple[str, Callable[[datetime], Card]]] = [
    ("handles.view_handle", _handles_offline),
    ("handles.view_handle", _queues),
    ("handles.view_handle", _line_health),
    ("messaging.view_message", _failures),
    ("messaging.view_message", _stuck_sending),
    ("messaging.view_message", _held),
    ("webhooks.view_webhookendpoint", _endpoints),
    ("handles.view_device", _devices),
]


def overview(*, user: Any, now: datetime | None = None) -> list[Card]:
    """The cards `user` may see, in the order an operator reads them."""
    now = now or timezone.now()
    return [card(now) for permission, card in CARDS if user.has_perm(permission)]
