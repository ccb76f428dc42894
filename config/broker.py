"""The Redis broker transport, with one fix: a worker that loses Redis survives it.

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
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
