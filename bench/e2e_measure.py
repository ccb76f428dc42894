"""What the end-to-end benchmark (`bench/e2e.py`) measures besides its own clock: the
database's backends (sessions opened, most at once, their CPU and waits) and the requests
in the servers' access logs."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench.procstat import process_cpu_seconds
from bench.scratch import PG

# --- measuring ------------------------------------------------------------------------------


_connections: dict[str, Any] = {}


def pg(db: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run `sql` on `db`, on one connection kept for the run (so the benchmark's own queries
    open no session while it counts them)."""
    import psycopg

    if db not in _connections:
        _connections[db] = psycopg.connect(f"{PG}/{db}", autocommit=True)
    return list(_connections[db].execute(sql, params).fetchall())


def pg_close() -> None:
    """Close the connections `pg` kept."""
    for conn in _connections.values():
        conn.close()
    _connections.clear()


class Sampler(threading.Thread):
    """Every 0.2 s: how many backends the database has (the most is kept), and which process
    opened each new one (each process runs with PGAPPNAME set to its name). A session
    shorter than a sample may be missed: `pg_stat_database.sessions` stays the total."""

    def __init__(self, db: str) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.most = 0
        self.opened: Counter[str] = Counter()
        self.waits: Counter[str] = Counter()  # what active backends were waiting on
        self.samples = 0
        # CPU of each backend (PostgreSQL's process for a session) when first and last seen
        self.backend_cpu: dict[tuple[int, Any], tuple[float, float]] = {}
        self.stop = threading.Event()

    def postgres_cpu(self) -> float:
        """CPU seconds the database's backends used while sampled (a backend that lived less
        than a sample is missed, and one's last moments after its last sample)."""
        return sum(last - first for first, last in self.backend_cpu.values())

    def run(self) -> None:
        import psycopg

        seen: set[tuple[int, Any]] = set()
        first = True
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            while not self.stop.wait(0.2):
                rows = conn.execute(
                    "SELECT pid, backend_start, application_name, state, wait_event_type, "
                    "wait_event FROM pg_stat_activity WHERE datname = %s",
                    (self.db,),
                ).fetchall()
                self.most = max(self.most, len(rows))
                self.samples += 1
                for pid, started, _, state, wait_type, wait in rows:
                    if state == "active":
                        self.waits[f"{wait_type}:{wait}" if wait_type else "on CPU"] += 1
                    used = process_cpu_seconds(pid)
                    base = self.backend_cpu.get((pid, started), (used if first else 0.0, 0.0))[0]
                    self.backend_cpu[(pid, started)] = (base, used)
                for pid, started, name, *_ in rows:
                    if (pid, started) not in seen:
                        seen.add((pid, started))
                        if not first:  # those open before the run were not opened during it
                            self.opened[name or "?"] += 1
                first = False


def access_log_calls(logs: list[Path]) -> Counter[str]:
    """Requests per endpoint in gunicorn's access logs (ids folded), and 5xx per endpoint."""
    pattern = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')
    calls: Counter[str] = Counter()
    for log in logs:
        for match in pattern.finditer(log.read_text(errors="replace")):
            path = re.sub(r"/(job|msg|att)_[A-Za-z0-9]+", r"/{\1}", match[2])
            calls[f"{match[1]} {path}"] += 1
            if match[3].startswith("5"):
                calls[f"5xx {match[1]} {path}"] += 1
    return calls
