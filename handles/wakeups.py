"""Cross-process wake-ups, so waiters block on Redis instead of polling the database.

A producer calls `wake(key)` after its commit; a waiter blocks in `wait(key, t)`
(Redis BLPOP) and then re-reads the database. Wake-ups are hints: the database stays the
record, and waiters re-check it at a slow interval in case a hint is lost. Without Redis
(the embedded mode) `wait` simply sleeps for up to a second.

An event loop (the ASGI long-poll, handles/device/long_poll.py) waits without a thread or a
Redis connection of its own: `listening(key)` gives it an asyncio.Event, which one
subscription per loop to the wake-ups channel (every `wake` is also published there) sets;
`woken_recently` reads the key's mailbox for a wake sent before it listened, and `poke` sets
the events of a key from within the process (the long-poll's batched re-checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Iterator
from functools import cache

import redis
import redis.asyncio
from django.conf import settings

_PREFIX = "sb:wake:"
# Every wake-up is also published here, with its key as the message.
_CHANNEL = "sb:wake"
logger = logging.getLogger(__name__)
_KEEP_SECONDS = 120


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _redis() -> redis.Redis | None:
    url = settings.REDIS_URL
    return _client(url) if url else None


def redis_client() -> redis.Redis | None:
    """This process's client of REDIS_URL (one, reused), or None in the embedded mode."""
    return _redis()


def wake(key: str) -> None:
    """Wake whoever waits on `key` (now or within the next two minutes)."""
    client = _redis()
    if client is None:
        return
    redis_key = _PREFIX + key
    pipeline = client.pipeline(transaction=False)
    pipeline.rpush(redis_key, 1)
    pipeline.ltrim(redis_key, -1, -1)
    pipeline.expire(redis_key, _KEEP_SECONDS)
    pipeline.publish(_CHANNEL, key)
    pipeline.execute()


def wake_many(keys: list[str]) -> None:
    """`wake` each of `keys`, in one round trip."""
    client = _redis()
    if client is None or not keys:
        return
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        redis_key = _PREFIX + key
        pipeline.rpush(redis_key, 1)
        pipeline.ltrim(redis_key, -1, -1)
        pipeline.expire(redis_key, _KEEP_SECONDS)
        pipeline.publish(_CHANNEL, key)
    pipeline.execute()


def wait(key: str, timeout: float) -> bool:
    """Block up to `timeout` seconds for a wake-up on `key`; True if one came."""
    if timeout <= 0:
        return False
    client = _redis()
    if client is None:
        time.sleep(min(timeout, 1.0))
        return False
    return client.blpop([_PREFIX + key], timeout=timeout) is not None


class _Listeners:
    """One event loop's waiters by key, and the one subscription that wakes them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: redis.asyncio.Redis | None = redis.asyncio.Redis.from_url(url) if url else None
        self.waiting: dict[str, set[asyncio.Event]] = {}
        self.subscriber: asyncio.Task[None] | None = None

    def poke(self, key: str) -> None:
        for event in self.waiting.get(key, ()):
            event.set()

    def subscribe(self) -> None:
        if self.client is not None and (self.subscriber is None or self.subscriber.done()):
            self.subscriber = asyncio.ensure_future(self._subscribed(self.client))

    async def _subscribed(self, client: redis.asyncio.Redis) -> None:
        while True:
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(_CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.poke(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: waiters fall back on their re-checks meanwhile
                logger.warning("Lost the wake-ups subscription; resubscribing", exc_info=True)
                await asyncio.sleep(1.0)


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Listeners] = (
    weakref.WeakKeyDictionary()
)


def _of_this_loop() -> _Listeners:
    loop = asyncio.get_running_loop()
    listeners = _listeners.get(loop)
    if listeners is None:
        listeners = _listeners.setdefault(loop, _Listeners(settings.REDIS_URL))
    return listeners


@contextlib.contextmanager
def listening(key: str) -> Iterator[asyncio.Event]:
    """An event that `wake(key)` from any process, or `poke(key)` in this one, sets while the
    block runs (in an event loop; no Redis connection of its own)."""
    listeners = _of_this_loop()
    listeners.subscribe()
    event = asyncio.Event()
    listeners.waiting.setdefault(key, set()).add(event)
    try:
        yield event
    finally:
        waiters = listeners.waiting.get(key)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del listeners.waiting[key]


def poke(key: str) -> None:
    """Set the events of this event loop's coroutines listening on `key`."""
    _of_this_loop().poke(key)


def has_redis() -> bool:
    return bool(settings.REDIS_URL)


async def woken_recently(key: str) -> bool:
    """Whether `key` was woken (within two minutes) since its last waiter took the wake-up;
    takes it. For a wake sent just before a coroutine started listening."""
    client = _of_this_loop().client
    if client is None:
        return False
    return await client.lpop(_PREFIX + key) is not None
