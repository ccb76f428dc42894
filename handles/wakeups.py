"""Cross-process wake-ups, so waiters block on Redis instead of polling the database.

A producer calls `wake(key)` after its commit; a waiter blocks in `wait(key, t)`
(Redis BLPOP) and then re-reads the database. Wake-ups are hints: the database stays the
record, and waiters re-check it at a slow interval in case a hint is lost. Without Redis
(the embedded mode) `wait` simply sleeps for up to a second. `wait_async` is the same wait for
an event loop (the ASGI long-poll, handles/device/long_poll.py): it holds no thread.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from functools import cache

import redis
import redis.asyncio
from django.conf import settings

_PREFIX = "sb:wake:"
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


# One client (and its connection pool) per event loop: an asyncio connection belongs to the
# loop that opened it.
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
    weakref.WeakKeyDictionary()
)


async def wait_async(key: str, timeout: float) -> bool:
    """`wait` for an event loop: block this coroutine (no thread) up to `timeout` seconds for a
    wake-up on `key`; True if one came."""
    if timeout <= 0:
        return False
    url = settings.REDIS_URL
    if not url:
        await asyncio.sleep(min(timeout, 1.0))
        return False
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients.setdefault(loop, redis.asyncio.Redis.from_url(url))
    return await client.blpop([_PREFIX + key], timeout=timeout) is not None
