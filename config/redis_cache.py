"""Django's Redis cache, with one redis-py client per connection pool instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` around the (shared) pool on
every cache call, and building one fills its table of ~170 response callbacks: about 0.3 ms of
CPU a call, twice for a device's heartbeat (its failed-auth budget, read through
django-ratelimit). A `redis.Redis` is safe to share between threads (each command borrows a
connection from the pool), so one is kept per pool; what it sends is unchanged.
"""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        django: Any = self  # Django's private helpers, which django-stubs does not declare
        index: int = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            made = django._client(connection_pool=django._get_connection_pool(write))
            client = self._clients.setdefault(index, made)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
