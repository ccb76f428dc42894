"""The scratch databases the benchmarks run on: created empty (any left by an earlier run
dropped first, its sessions with it), migrated by `manage.py` in the benchmark's own
environment, and dropped at the end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PG = "postgres://postgres@127.0.0.1:5432"
ROOT = Path(__file__).resolve().parent.parent


def database_drop(db_name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def database_create(db_name: str) -> None:
    """An empty database of that name (one left by an earlier run is dropped)."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")


def migrate(env: dict[str, str]) -> None:
    """`manage.py migrate` with this environment (its DATABASE_URL names the database)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
