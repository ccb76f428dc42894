"""Each process borrows PostgreSQL connections from a bounded pool (docs/operations.md)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _superuser_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    )


def test_connections_given_back_are_borrowed_again_not_opened_anew():
    size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    pids = set()
    for _ in range(20):
        pids.add(_backend_pid())
        connection.close()  # what the end of a request or task does
    assert len(pids) <= size


def test_threads_beyond_the_pool_wait_for_a_connection_instead_of_opening_one():
    size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    connection.close()  # this thread's connection back in the pool too
    used: list[int] = []
    errors: list[Exception] = []

    def query() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
                used.append(int(cursor.fetchone()[0]))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=query) for _ in range(size * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(used) == size * 3  # every thread got its turn…
    assert len(set(used)) <= size  # …on at most the pool's connections


def test_pooled_connections_that_postgresql_closed_are_replaced_before_use():
    killed = _backend_pid()
    connection.close()
    with _superuser_connection() as admin:  # every pooled connection of this process
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    time.sleep(0.5)  # the terminated sessions have said goodbye on their sockets
    # The next request borrows a live connection, not one the server closed (no error).
    assert _backend_pid() != killed
