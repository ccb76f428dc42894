"""The Redis broker transport, with two fixes: a worker that loses Redis survives it, and a
publish reuses its Redis client (kombu builds a new one for each message).

When a worker loses its broker, Celery (5.7) first collects the broken connection, which
drops the transport's client, and then closes it; closing tries to hand the worker's
unacknowledged tasks back to the queue over the connection it no longer has, raises
AttributeError, and Celery treats that as unrecoverable: the worker exits (a threads-pool
worker with tasks in flight did, in tests/faults, when Redis restarted). Here, with no
connection left, nothing is handed back: those tasks stay in Redis's unacked set, which the
transport restores after its visibility timeout, and the sweepers re-enqueue the work they
stood for within seconds (the database is the record, tasks are idempotent).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis


class QoS(redis.QoS):
    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self.channel.connection.client is None:
            if self._delivered is not None:
                self._delivered.clear()
            return
        super().restore_unacked(client)


class Channel(redis.Channel):
    """kombu's channel, publishing through one client instead of building one per message."""

    QoS = QoS
    _publisher: tuple[Any, Any] | None = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """The client to publish (and run one-off commands) with: kombu makes a new one for
        each call, a fifth of a publish's CPU. One is kept per connection pool (redis-py
        clients are thread-safe; a new pool, after a fork or a lost connection, a new one)."""
        if client:
            yield client
            return
        pool = self.pool
        if self._publisher is None or self._publisher[0] is not pool:
            self._publisher = (pool, self._create_client())  # type: ignore[attr-defined]
        yield self._publisher[1]


class Transport(redis.Transport):
    Channel = Channel
