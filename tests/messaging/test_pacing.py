"""Pacing per sending handle: FIFO, never above rate + burst, handles independent."""

from __future__ import annotations

from datetime import datetime

import pytest

from messaging.models import Message, MessageStatusEvent
from tests.messaging.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=150)]


def send_times(message_ids: list[str]) -> dict[str, datetime]:
    return dict(
        MessageStatusEvent.objects.filter(message_id__in=message_ids, status="sending").values_list(
            "message_id", "at"
        )
    )


def test_a_burst_goes_out_fifo_within_the_handles_pace_and_delays_no_other_handle(platform, beat):
    platform.handle("+14155550123", per_minute=12, burst=2)
    platform.handle("+14155550144", per_minute=60, burst=5)
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
    assert Message.objects.filter(pk__in=slow_ids, status="queued").count() >= 20

    def slow_all_sent() -> bool:
        return Message.objects.filter(pk__in=slow_ids, sent_at__isnull=False).count() == 30

    wait_until(slow_all_sent, timeout=240, what="the paced burst")
    times = send_times(slow_ids)
    ordered = [times[message_id] for message_id in slow_ids]
    assert ordered == sorted(ordered), "not FIFO"
    for start in ordered:
        in_window = [t for t in ordered if 0 <= (t - start).total_seconds() < 60]
        assert len(in_window) <= 12 + 2
    # Paced, not just throttled to nothing: 28 messages beyond the burst at 12 a minute.
    assert (ordered[-1] - ordered[0]).total_seconds() >= (28 / 12) * 60 - 2
