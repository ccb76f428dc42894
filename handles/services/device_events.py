"""What devices push (`POST /device/v1/events`): recorded once each by the device's own id,
handed to the apps' handlers in order, all or nothing; recipients' capabilities."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contract.errors import InvalidRequest
from handles import registry
from handles.addresses import handle_normalize
from handles.models import (
    Device,
    DeviceEvent,
    RecipientCapability,
)


@dataclass(frozen=True)
class IngestedEvent:
    id: str
    type: str
    duplicate: bool


def device_events_ingest(*, device: Device, events: list[dict[str, Any]]) -> list[IngestedEvent]:
    """Apply the events a device pushed, in order, each at most once (by its own id).

    All or nothing: one invalid event leaves the whole batch unapplied, so the device can
    fix and resend it. The batch is recorded in one statement (which also tells the events
    already applied from the new ones, even against a concurrent push of the same batch), and
    consecutive events that an app handles as a batch (`registry.on_device_events`) go to it
    together: receipts for 100 messages read those messages in one query.
    """
    with transaction.atomic():
        new_ids = _device_events_record(device, events)
        results: list[IngestedEvent] = []
        fresh: list[tuple[str, str, dict[str, Any]]] = []
        for event in events:
            is_new = event["id"] in new_ids
            new_ids.discard(event["id"])  # the same id twice in one batch: once
            results.append(IngestedEvent(event["id"], event["type"], duplicate=not is_new))
            if is_new:
                fresh.append((event["id"], event["type"], event["data"]))
        start = 0
        while start < len(fresh):
            batch_handler = registry.device_events_handler(fresh[start][1])
            end = start + 1
            if batch_handler is None:
                _device_event_apply(device, *fresh[start])
            else:
                while (
                    end < len(fresh)
                    and registry.device_events_handler(fresh[end][1]) is batch_handler
                ):
                    end += 1
                batch_handler(device, fresh[start:end])
            start = end
    return results


def _device_events_record(device: Device, events: list[dict[str, Any]]) -> set[str]:
    """Store the events not stored yet (by the handle's external ids); the ids stored now.

    `INSERT … ON CONFLICT DO NOTHING`: a push of the same events racing this one waits for
    it to commit, then finds them stored (duplicates) instead of applying them twice."""
    table = DeviceEvent._meta.db_table
    if connection.vendor != "postgresql":
        return _device_events_record_portably(device, events)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (handle_id, external_id, type, data, received_at) "  # noqa: S608
            "SELECT %s, e.external_id, e.type, e.data::jsonb, %s "
            "FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY "
            "AS e(external_id, type, data, n) ORDER BY e.n "
            "ON CONFLICT (handle_id, external_id) DO NOTHING RETURNING external_id",
            [
                device.handle_id,
                timezone.now(),
                [event["id"] for event in events],
                [event["type"] for event in events],
                [json.dumps(event["data"]) for event in events],
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def _device_events_record_portably(device: Device, events: list[dict[str, Any]]) -> set[str]:
    """`_device_events_record` for the embedded SQLite (`make run`): one insert per event,
    each skipped if stored already (SQLite runs one writer at a time, so no push races it)."""
    table = DeviceEvent._meta.db_table
    stored: set[str] = set()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        for event in events:
            cursor.execute(
                f"INSERT INTO {table} (handle_id, external_id, type, data, received_at) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (handle_id, external_id) DO NOTHING RETURNING external_id",
                [device.handle_id, event["id"], event["type"], json.dumps(event["data"]), now],
            )
            stored.update(row[0] for row in cursor.fetchall())
    return stored


def _device_event_apply(
    device: Device, external_id: str, event_type: str, data: dict[str, Any]
) -> None:
    handler = registry.device_event_handler(event_type)
    if handler is None:
        raise InvalidRequest(f"Event type {event_type!r} is not handled by this server.")
    handler(device, external_id, data)


def capability_set(
    *, account_id: str, address: str, imessage: bool | None = None, whatsapp: bool | None = None
) -> RecipientCapability:
    """Record what was learned about a recipient (e.g. not on iMessage after a failed send)."""
    values = {
        name: value
        for name, value in (("imessage", imessage), ("whatsapp", whatsapp))
        if value is not None
    }
    capability, _ = RecipientCapability.objects.update_or_create(
        account_id=account_id, address=address, defaults={**values, "checked_at": timezone.now()}
    )
    return capability


@registry.on_device_event("recipient.capability")
def capability_reported(device: Device, external_id: str, data: dict[str, Any]) -> None:
    """A device found out whether a recipient is on iMessage / WhatsApp."""
    capability_record(device=device, data=data)


def capability_record(*, device: Device, data: dict[str, Any]) -> RecipientCapability | None:
    """Remember what a device found out about a recipient (for its handle's account)."""
    address = handle_normalize(data.get("handle"), field="data.handle")
    values = {name: data[name] for name in ("imessage", "whatsapp") if name in data}
    for name, value in values.items():
        if value is not None and not isinstance(value, bool):
            raise InvalidRequest(f"data.{name} must be true, false or null.")
    account_id = device.handle.account_id
    if account_id is None:
        return None
    capability, _ = RecipientCapability.objects.update_or_create(
        account_id=account_id,
        address=address,
        defaults={**values, "checked_at": timezone.now()},
    )
    return capability
