"""Times a device reports, held to a window around the server's clock.

A device's clock is its own: wrong after a dead battery, or set on purpose. Lists are ordered
by these times, so a message a device dates `9999-12-31` would stay on top of every list. A
reported time is used as given when it is at most `AHEAD` after the server's clock and at
most `BEHIND` before it (a phone that was offline for a few days still dates its messages
right); outside that window the server's time of receipt is used instead, and the device's
own value is kept in the history (`DeviceTime.note`, and in the stored device event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contract.errors import InvalidRequest

AHEAD = timedelta(minutes=5)
BEHIND = timedelta(days=7)


@dataclass(frozen=True)
class DeviceTime:
    """The time to record, and what the device said when that was not believed."""

    at: datetime
    reported: str | None = None

    @property
    def note(self) -> str:
        """For the status history: empty unless the device's time was replaced."""
        if self.reported is None:
            return ""
        return f"device time {self.reported} is outside the clock window; recorded at receipt"


def device_time(raw: object, *, field: str = "data.at") -> DeviceTime:
    """The time a device reported (`raw`, RFC 3339 with a zone; None for now), in the window."""
    now = timezone.now()
    if raw is None:
        return DeviceTime(at=now)
    moment = None
    if isinstance(raw, str):
        try:
            moment = parse_datetime(raw)
        except ValueError:  # well-formed but impossible: month 13, an offset of 25 h
            moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidRequest(
            f"{field} must be an RFC 3339 time with a zone.",
            fields={field: ["Must be an RFC 3339 time with a zone."]},
        )
    if now - BEHIND <= moment <= now + AHEAD:
        return DeviceTime(at=moment)
    return DeviceTime(at=now, reported=str(raw)[:64])
