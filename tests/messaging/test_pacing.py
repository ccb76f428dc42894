"""Pacing per sending handle: FIFO, never above rate + burst, handles independent."""

from __future__ import annotations

from datetime import datetime

import pytest

from messaging.models import Message, MessageStatusEvent
from tests.messaging.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=50)]


def send_times(message_ids: list[str]) -> dict[str, datetime]:
    return dict(
        MessageStatusEvent.objects.filter(message_id__in=message_ids, status="sending").values_list(
            "message_id", "at"
        )
    )


# The slow handle's pace: fast enough that the burst drains in half a minute, slow enough
# that pacing (not the dispatcher's speed) decides every send time.
PER_MINUTE = 60
BURST = 2


def test_a_burst_goes_out_fifo_within_the_handles_pace_and_delays_no_other_handle(platform, beat):
    platform.handle("+14155550123", per_minute=PER_MINUTE, burst=BURST)
    platform.handle("+14155550144", per_minute=600, burst=5)
    slow_ids = []
    for n in range(30):
        response = platform.client.post(
            "/v1/messages",
            {"to": f"+1415555{2000 + n}", "text": f"#{n}", "from_handle": "+14155550123"},
            format="json",
        )
        assert response.status_code == 202
        slow_ids.append(response.json()["data"]["id"])
    fast_ids = [
        platform.client.post(
            "/v1/messages",
            {"to": f"+1415555{3000 + n}", "text": "quick", "from_handle": "+14155550144"},
            format="json",
        ).json()["data"]["id"]
        for n in range(3)
    ]

    def fast_all_sent() -> bool:
        return Message.objects.filter(pk__in=fast_ids, sent_at__isnull=False).count() == 3

    wait_until(fast_all_sent, timeout=30, what="the second handle's messages")
    # The second handle did not wait for the first's queue, which is still mostly waiting.
    assert Message.objects.filter(pk__in=slow_ids, status="queued").count() >= 15

    def slow_all_sent() -> bool:
        return Message.objects.filter(pk__in=slow_ids, sent_at__isnull=False).count() == 30

    wait_until(slow_all_sent, timeout=120, what="the paced burst")
    times = send_times(slow_ids)
    ordered = [times[message_id] for message_id in slow_ids]
    assert ordered == sorted(ordered), "not FIFO"
    # The token bucket's promise, over every stretch of the run: n sends in t seconds never
    # exceed the burst plus what t seconds refill (a 60-second window is one such stretch).
    # A run that starts late keeps less than one token of what the lateness earned
    # (`dispatch._refill`, LATE_CREDIT), so a stretch may carry one send more: one message of
    # slack. A dispatcher that ignored the pace would still be caught, its queue going out
    # at once.
    for first, start in enumerate(ordered):
        for last in range(first, len(ordered)):
            elapsed = (ordered[last] - start).total_seconds()
            assert last - first + 1 <= BURST + PER_MINUTE * elapsed / 60 + 1, (first, last)
    # Paced, not just throttled to nothing: 28 messages beyond the burst at one a second.
    assert (ordered[-1] - ordered[0]).total_seconds() >= (28 / PER_MINUTE) * 60 - 2
