"""Django's PostgreSQL backend, with pooled connections that are alive when handed out.

A connection waits in the pool between requests. If PostgreSQL went away meanwhile (a
restart, an idle timeout), the server has closed its end and the pool does not know: the
next request to borrow it would fail once, long after the database is back. Before a pooled
connection is handed out, this backend looks at its socket without a round trip: an idle
connection we hold has nothing to read unless the server has said goodbye, so a readable or
closed socket means a dead connection, which is dropped and replaced. A live one costs no
query (unlike `CONN_HEALTH_CHECKS`, which runs one on every checkout).
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base


def _closed_by_server(connection: Any) -> bool:
    """True if this idle connection is closed or the server has written to it (it only does
    so, unasked, to say it is terminating the session)."""
    if connection.closed or connection.broken:
        return True
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pool = self.pool  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs yet
        connection = super().get_new_connection(conn_params)
        if pool is None:
            return connection
        # At most one look per connection the pool can hold: then it has made new ones.
        for _ in range(pool.max_size):
            if not _closed_by_server(connection):
                return connection
            connection.close()
            pool.putconn(connection)  # a closed connection is discarded and replaced
            connection = super().get_new_connection(conn_params)
        return connection
