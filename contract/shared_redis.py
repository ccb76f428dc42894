"""One Redis client per process for the hot path: the default cache's Redis, its connections.

Django's `RedisCache` builds a new client object on every call (`get_client`); on a path that
runs on every request (budgets, idempotency locks) this module hands out one client, made
once, over the cache's own connection pool, and Lua scripts registered once (EVALSHA, loaded
again by themselves after a Redis restart). None in the embedded mode, where the cache is not
Redis: callers then go through Django's cache API.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from redis.commands.core import Script

_lock = threading.Lock()
_client: redis.Redis | None = None
_scripts: dict[str, Script] = {}


def shared_redis() -> redis.Redis | None:
    """This process's client of the default cache's Redis, or None when it is not Redis."""
    global _client
    if _client is None:
        backend = caches["default"]
        if not isinstance(backend, RedisCache):
            return None
        with _lock:
            if _client is None:
                # One client over the cache's pool (redis-py clients are thread-safe).
                _client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]
    return _client


def cache_key(key: str) -> str:
    """`key` as Django's cache names it in Redis (prefix and version), for a raw command."""
    return str(caches["default"].make_key(key))


def run_script(source: str, *, keys: list[str], args: list[Any]) -> Any:
    """Run a Lua script on the shared client (registered once per process, by its sha)."""
    client = shared_redis()
    assert client is not None, "run_script needs the cache to be Redis"
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = client.register_script(source)
    return script(keys=keys, args=args, client=client)


def reset() -> None:
    """Forget the client (its cache was reconfigured: tests that swap CACHES)."""
    global _client
    with _lock:
        _client = None
        _scripts.clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        reset()


setting_changed.connect(_on_setting_changed)
