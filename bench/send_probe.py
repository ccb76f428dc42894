"""One send, looked at from inside the web process: its SQL statements, and where its CPU goes.

Run by `bench/run.py` against the benchmark's database and Redis (its environment), after
the load: it sends a few warm-up messages through Django's test client (the whole stack:
middleware, authentication, the per-key budget, idempotency, the view, the commit and what
runs after it) with an Idempotency-Key each, then one more inside `CaptureQueriesContext`
while counting the packets redis-py sends (Redis round trips: a pipeline or a script is
one, whatever it runs inside), and prints a JSON line with both. `--profile N` prints
cProfile's top functions (CPU time) over N sends instead.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=… REDIS_URL=… \\
        .venv/bin/python bench/send_probe.py --api-key sk_live_… [--sql] [--profile 200]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from redis.connection import AbstractConnection  # noqa: E402

MESSAGE = {"to": "+14155550199", "text": "benchmark", "metadata": {"n": "1"}}


def send(client: Client, api_key: str) -> Any:
    response = client.post(
        "/v1/messages",
        data=json.dumps(MESSAGE),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": uuid.uuid4().hex},
    )
    if response.status_code != 202:
        raise SystemExit(f"send answered {response.status_code}: {response.content!r}")
    return response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--sql", action="store_true", help="also print each statement")
    parser.add_argument("--profile", type=int, default=0, help="profile this many sends")
    parser.add_argument("--tottime", action="store_true", help="profile: sort by own time")
    args = parser.parse_args()
    client = Client(SERVER_NAME="127.0.0.1")
    for _ in range(5):
        send(client, args.api_key)
    if args.profile:
        sort = "tottime" if args.tottime else "cumulative"
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.profile):
            send(client, args.api_key)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(sort).print_stats(60)
        return
    round_trips: list[str] = []
    original = AbstractConnection.send_packed_command

    def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        round_trips.append(repr(command)[:120])
        original(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as captured:
            send(client, args.api_key)
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
    statements = [query["sql"] for query in captured.captured_queries]
    print(json.dumps({"statements": len(statements), "redis_round_trips": len(round_trips)}))
    if args.sql:
        for sql in statements:
            print("  SQL   " + sql[:300], file=sys.stderr)
        for packet in round_trips:
            print("  Redis " + packet, file=sys.stderr)


if __name__ == "__main__":
    main()
