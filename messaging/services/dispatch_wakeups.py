"""Waking the dispatcher: coalesced in Redis, so a backlog costs one queued task, not one a message.

A handle that has work now is added to one Redis set of due handles, and a `dispatch_due`
task is published only if none is pending (a marker, set with NX, that the task deletes
FIRST when it starts: a handle added after that delete publishes a fresh task, so no wake-up
is lost). A handle that must wait for its next token goes into a sorted set of timers; ONE
countdown task is armed for the earliest of them, never sooner than `TIMER_TICK` from now
(so timers fire at most about 1/TICK times a second, whatever the number of handles). Each
run moves the timers that are due into the set, takes a chunk of handles from it, and
dispatches them; more waiting fans out to another task.

All of this is a hint, like the tasks it replaces: PostgreSQL is the record. If Redis or the
broker loses it, the marker and the armed timer expire on their own (`PENDING_TTL`, the timer's
countdown + `PENDING_TTL`) and the sweeper re-kicks every handle whose queued messages wait
with no run due (`messages_sweep`). A task is never dropped for being late (no expiry: a
late run is better than a lost one), so with no worker consuming, a backlog gains at most one
task each `PENDING_TTL`, not one a message. Without Redis (the embedded mode) each wake-up is
a per-handle `handle_dispatch` task, with its countdown.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import cache

import redis
from celery import current_app
from django.db import transaction
from redis.commands.core import Script

from handles import wakeups

DUE_TASK = "messaging.tasks.dispatch_due"
HANDLE_TASK = "messaging.tasks.handle_dispatch"
DUE = "sb:dispatch:due"
PENDING = "sb:dispatch:pending"
TIMERS = "sb:dispatch:timers"
TIMER = "sb:dispatch:timer"
# A pending task not started this long after it was published is taken as lost.
PENDING_TTL = 30
# Timers fire at most this often; a later run is not a faster one (lateness is credited to the
# handle's bucket, below one token: `messaging.services.dispatch`).
TIMER_TICK = 0.05
# Handles one run dispatches; more fan out to another task (so a few worker processes share
# a second's timers, and no handle waits behind many others' statements).
CHUNK = 25

# Arm the one timer task for the earliest timer (after adding ARGV[1]'s, if given): returns the
# time to fire at if a task must be published, nil if one already fires at or before it.
# ARGV: handle id or '', its time, now, the tick, the TTL beyond the countdown.
_ARM = """
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1]) end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
local now = tonumber(ARGV[3])
-- To the microsecond, rounded up, as the stamp says it: a stamp rounded away from the time it
-- stands for would look later than itself, and arm a second task for the same timer.
local fire = math.ceil(math.max(tonumber(first[2]), now + tonumber(ARGV[4])) * 1e6) / 1e6
local armed = redis.call('GET', KEYS[2])
if armed and tonumber(armed) <= fire then return false end
local stamp = string.format('%.6f', fire)
redis.call('SET', KEYS[2], stamp, 'EX', math.ceil(fire - now) + tonumber(ARGV[5]))
return stamp
"""
# Move the timers due by ARGV[1] into the due set, then take up to ARGV[2] due handles:
# returns {taken ids..., how many are left}.
_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 5000)
if #due > 0 then
  redis.call('SADD', KEYS[2], unpack(due))
  redis.call('ZREM', KEYS[1], unpack(due))
end
local taken = redis.call('SPOP', KEYS[2], ARGV[2])
table.insert(taken, redis.call('SCARD', KEYS[2]))
return taken
"""
# Forget the armed timer if it is still this run's (a later arming supersedes it).
_DISARM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


@cache
def _script(client: redis.Redis, source: str) -> Script:
    return client.register_script(source)


def _publish_due(*, countdown: float = 0.0, fire_at: str | None = None) -> None:
    current_app.send_task(
        DUE_TASK,
        kwargs={"fire_at": fire_at} if fire_at else {},
        countdown=countdown,
    )


def wake(handle_ids: Iterable[int]) -> None:
    """Have the dispatcher run for these handles now: one round trip, and a task only if none
    is pending."""
    ids = sorted(set(handle_ids))
    if not ids:
        return
    client = wakeups.redis_client()
    if client is None:
        for handle_id in ids:
            current_app.send_task(HANDLE_TASK, args=(handle_id,))
        return
    pipeline = client.pipeline(transaction=False)
    pipeline.sadd(DUE, *ids)
    pipeline.set(PENDING, 1, nx=True, ex=PENDING_TTL)
    if pipeline.execute()[1]:
        _publish_or_forget(client, PENDING)


def _publish_or_forget(
    client: redis.Redis, marker: str, *, countdown: float = 0.0, fire_at: str | None = None
) -> None:
    """Publish the run `marker` stands for; if the broker refuses it, drop the marker too, so
    the next wake-up tries again instead of trusting a run that does not exist."""
    try:
        _publish_due(countdown=countdown, fire_at=fire_at)
    except Exception:
        client.delete(marker)
        raise


def wake_later(handle_id: int, *, countdown: float) -> None:
    """Have the dispatcher run for this handle in `countdown` seconds (its next token)."""
    client = wakeups.redis_client()
    if client is None:
        current_app.send_task(HANDLE_TASK, args=(handle_id,), countdown=countdown)
        return
    _arm(client, handle_id=handle_id, at=time.time() + countdown)


def wake_later_many(countdowns: dict[int, float]) -> None:
    """`wake_later` for several handles, in one round trip (and at most one task)."""
    if not countdowns:
        return
    client = wakeups.redis_client()
    if client is None:
        for handle_id, countdown in countdowns.items():
            current_app.send_task(HANDLE_TASK, args=(handle_id,), countdown=countdown)
        return
    now = time.time()
    script = _script(client, _ARM)
    pipeline = client.pipeline(transaction=False)
    for handle_id, countdown in countdowns.items():
        script(
            keys=[TIMERS, TIMER],
            args=[handle_id, now + countdown, now, TIMER_TICK, PENDING_TTL],
            client=pipeline,
        )
    # Each arming that returns a time moved the timer earlier: the last one is the timer.
    armed = [fire for fire in pipeline.execute() if fire is not None]
    if armed:
        stamp = armed[-1].decode() if isinstance(armed[-1], bytes) else str(armed[-1])
        _publish_or_forget(client, TIMER, countdown=max(0.0, float(stamp) - now), fire_at=stamp)


def soon_many(countdowns: dict[int, float]) -> None:
    """`wake_later_many` once the caller's transaction commits."""
    if countdowns:
        transaction.on_commit(lambda: wake_later_many(countdowns), robust=True)


def _arm(client: redis.Redis, *, handle_id: int | None, at: float = 0.0) -> None:
    """Make sure one timer task fires at the earliest timer (after adding this handle's)."""
    now = time.time()
    fire = _script(client, _ARM)(
        keys=[TIMERS, TIMER],
        args=["" if handle_id is None else handle_id, at, now, TIMER_TICK, PENDING_TTL],
    )
    if fire is not None:
        stamp = fire.decode() if isinstance(fire, bytes) else str(fire)
        _publish_or_forget(client, TIMER, countdown=max(0.0, float(stamp) - now), fire_at=stamp)


def take(*, fire_at: str | None) -> list[int]:
    """Start a run: the due handles it dispatches (at most `CHUNK`); fan out if more are due.

    A run that was published as pending deletes the marker first; a timer run forgets its
    timer (if no later arming replaced it) and, at the end, arms the next (`rearm`)."""
    client = wakeups.redis_client()
    if client is None:
        return []
    if fire_at is None:
        client.delete(PENDING)
    else:
        _script(client, _DISARM)(keys=[TIMER], args=[fire_at])
    *taken, left = _script(client, _TAKE)(keys=[TIMERS, DUE], args=[time.time(), CHUNK])
    if int(left) > 0 and client.set(PENDING, 1, nx=True, ex=PENDING_TTL):
        _publish_or_forget(client, PENDING)
    return [int(handle_id) for handle_id in taken]


def rearm() -> None:
    """End a run: arm the timer task for the earliest timer still waiting, if none is."""
    client = wakeups.redis_client()
    if client is not None:
        _arm(client, handle_id=None)


def soon(handle_id: int, *, countdown: float = 0.0) -> None:
    """`wake` now or `wake_later`, after the caller's transaction commits (never for work it
    rolls back). robust: a Redis or broker that cannot take it does not undo committed work."""
    if countdown > 0:
        transaction.on_commit(lambda: wake_later(handle_id, countdown=countdown), robust=True)
    else:
        transaction.on_commit(lambda: wake([handle_id]), robust=True)
