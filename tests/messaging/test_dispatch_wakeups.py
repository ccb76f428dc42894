"""Waking the dispatcher is coalesced: a backlog queues one task, not one a message, and the
sweeper adds none while a run is pending."""

from __future__ import annotations

import json
import time
from collections import Counter
from copy import copy
from datetime import timedelta
from typing import Any, cast

import pytest
import redis
import time_machine
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from accounts import services as account_services
from handles import services as handle_services
from handles import wakeups
from handles.models import Handle, Job
from messaging.models import Message, new_message_id
from messaging.services import dispatch, dispatch_wakeups
from messaging.services.dispatch import dispatch_due, messages_sweep
from messaging.services.lifecycle import DISPATCH_DUE_TASK, DISPATCH_TASK, dispatch_soon
from messaging.services.sending import message_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow(seconds=20)]


def broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def queued_tasks() -> list[dict[str, Any]]:
    """The tasks waiting in the broker's queues (no worker consumes them here)."""
    return [
        json.loads(raw) for queue in ("celery", "webhooks") for raw in broker().lrange(queue, 0, -1)
    ]


@pytest.fixture
def backlog() -> list[Handle]:
    """20 handles with a device online and 100 queued messages each: one sent through the real
    service, 99 copies of it, each followed by the wake-up a send makes after its commit."""
    broker().flushdb()
    account, _ = account_services.account_create(name="Backlog")
    handles = []
    for n in range(20):
        handle = handle_services.handle_assign(
            account=account, address=f"+1415555{1000 + n}", per_minute=60, burst=1
        )
        device = handle_services.device_attach(handle=handle, simulated=True).device
        handle_services.device_seen(device=device)
        handles.append(handle)
    for handle in handles:
        sent = message_send(account=account, to="+14155560000", from_handle=handle.address)
        copies = []
        for _ in range(99):
            sent.id = new_message_id()
            copies.append(copy(sent))
        Message.objects.bulk_create(copies)
        for _ in copies:
            with transaction.atomic():
                dispatch_soon(handle.pk)  # as each send does once it commits
    return handles


def by_name(tasks: list[dict[str, Any]]) -> Counter[str]:
    return Counter(task["headers"]["task"] for task in tasks)


def test_a_backlog_of_2000_sends_queues_one_dispatch_task(backlog):
    assert Message.objects.filter(status="queued").count() == 2000
    tasks = by_name(queued_tasks())
    assert {name: count for name, count in tasks.items() if "dispatch" in name} == {
        DISPATCH_DUE_TASK: 1
    }


def test_the_sweeper_adds_no_task_while_a_run_is_pending(backlog):
    before = len(queued_tasks())
    # Long enough that every handle looks lost to the sweeper (it re-kicks them all).
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert len(messages_sweep().kicked) == 20
        assert len(messages_sweep().kicked) == 20
    assert len(queued_tasks()) == before


def test_one_run_dispatches_every_due_handle_and_arms_one_timer_for_all(backlog):
    broker().flushdb()  # as a worker would have taken the pending task
    result = dispatch_due()
    assert (result.handles, result.dispatched) == (20, 20)  # burst 1: one message each
    assert Job.objects.count() == 20
    # Each handle waits for its next token; one timer task stands for all 20 of them.
    tasks = by_name(queued_tasks())
    assert tasks[DISPATCH_TASK] == 0
    assert tasks[DISPATCH_DUE_TASK] == 1


def test_a_timer_whose_time_rounds_up_to_its_stamp_is_armed_once(monkeypatch):
    broker().flushdb()
    # 7 decimals that round UP to the microsecond: the stamp is later than the time it stands
    # for, and the run's closing re-arm must still see that timer as armed.
    monkeypatch.setattr(dispatch_wakeups.time, "time", lambda: 1795958569.2353137)
    dispatch_wakeups.wake_later_many({1: 1.0, 2: 1.0})
    dispatch_wakeups.rearm()
    assert by_name(queued_tasks())[DISPATCH_DUE_TASK] == 1


def test_a_run_that_fails_puts_its_handles_back_as_timers(backlog, monkeypatch):
    def fails(**_: Any) -> None:
        raise OperationalError("the database went away")

    monkeypatch.setattr(dispatch, "handles_dispatch", fails)
    before = time.time()
    with pytest.raises(OperationalError):
        dispatch_due()
    client = wakeups.redis_client()
    assert client is not None
    timers = dict(
        cast(
            list[tuple[bytes, float]],
            client.zrange(dispatch_wakeups.TIMERS, 0, -1, withscores=True),
        )
    )
    assert {int(handle_id) for handle_id in timers} == {handle.pk for handle in backlog}
    assert all(before + 1 <= at <= time.time() + 1 for at in timers.values())
    assert Job.objects.count() == 0
