"""Benchmark POST /v1/messages against a bare DRF insert, on the real stack, in one run.

Starts gunicorn (production settings) on a scratch PostgreSQL database and Redis database,
then fires, `--pairs` times in turn, the same number of requests at the same concurrency
(16 keep-alive connections by default) at the bare view and at the send, and prints for
each pair throughput, p50 and p99, gunicorn's CPU per request (its processes' CPU time from
/proc over the requests), and for the send the Redis commands per send (`INFO commandstats`
deltas over the run, the broker's included); then the median ratio of the pairs, and the
SQL statements of one send counted inside the web stack (`bench/send_probe.py`). Nothing
consumes the dispatch tasks: this measures what a client waits for (validation, routing,
the committed row, its history, its outbox event, the idempotency record, the wake-up), not
delivery.

    make bench            # or: .venv/bin/python bench/run.py --requests 3000 --pairs 3
    # on a shared machine, with your own Redis, port and scratch database:
    .venv/bin/python bench/run.py --redis-url redis://127.0.0.1:6391/0 --port 8891 \\
        --db-name switchboard_bench_h1
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.procstat import tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
from bench.scratch import PG, database_create, migrate  # noqa: E402


def sh(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        args, cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare(env: dict[str, str], db_name: str) -> dict[str, str]:
    import psycopg

    database_create(db_name)
    with psycopg.connect(f"{PG}/{db_name}", autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_row (id bigserial PRIMARY KEY, body jsonb NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    migrate(env)
    account = json.loads(sh(sys.executable, "manage.py", "create_account", "Bench", env=env))
    sh(sys.executable, "manage.py", "set_rate_limit", account["account_id"], "10000000", env=env)
    sh(sys.executable, "manage.py", "assign_handle", account["account_id"], "+14155550123", env=env)
    return account


def redis_commands(url: str) -> dict[str, int]:
    """Calls per command so far on this Redis server (`INFO commandstats`), INFO itself aside."""
    import redis

    stats = redis.Redis.from_url(url).info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(values["calls"])
        for name, values in stats.items()
        if name != "cmdstat_info"
    }


def fire(
    port: int,
    path: str,
    headers: dict[str, str],
    body: dict[str, object],
    requests: int,
    concurrency: int,
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            payload = json.dumps(body)
            request_headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
                **headers,
            }
            started = time.perf_counter()
            conn.request("POST", path, payload, request_headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status >= 300:
                    errors += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors


def measure(
    name: str, server_pid: int, run: tuple[float, list[float], int], cpu_seconds: float
) -> dict[str, float]:
    wall, latencies, errors = run
    ordered = sorted(latencies)
    result = {
        "requests": len(ordered),
        "errors": errors,
        "throughput_rps": len(ordered) / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "cpu_ms": cpu_seconds / len(ordered) * 1000,
    }
    print(
        f"  {name:<20} {result['throughput_rps']:8.1f} req/s   p50 {result['p50_ms']:7.2f} ms"
        f"   p99 {result['p99_ms']:7.2f} ms   gunicorn CPU {result['cpu_ms']:6.2f} ms/req"
        f"   errors {errors}",
        flush=True,
    )
    return result


def timed(
    server_pid: int,
    name: str,
    port: int,
    path: str,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, float]:
    before = tree_cpu_seconds(server_pid)
    run = fire(port, path, headers, MESSAGE, args.requests, args.concurrency)
    return measure(name, server_pid, run, tree_cpu_seconds(server_pid) - before)


MESSAGE: dict[str, object] = {"to": "+14155550199", "text": "benchmark", "metadata": {"n": "1"}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint and pair")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--db-name", default="switchboard_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--sql", action="store_true", help="print the statements of one send")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{PG}/{args.db_name}",
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-only",
        "LOG_LEVEL": "WARNING",
    }
    account = prepare(env, args.db_name)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                ready = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
                ready.request("GET", "/healthz")
                ready.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {account['api_key']}"}
        # Warm both paths (connections, imports) before measuring.
        fire(args.port, "/bench/bare", {}, MESSAGE, 200, args.concurrency)
        fire(args.port, "/v1/messages", auth, MESSAGE, 200, args.concurrency)
        print(
            f"{args.pairs} pairs of {args.requests} requests each, concurrency {args.concurrency}"
            f" (keep-alive), gunicorn {args.workers} workers x {args.threads} threads, "
            f"{os.cpu_count()} cores; every send has an Idempotency-Key"
        )
        ratios: list[float] = []
        sends: list[dict[str, float]] = []
        bares: list[dict[str, float]] = []
        commands: dict[str, int] = {}
        for pair in range(1, args.pairs + 1):
            print(f"pair {pair}")
            bares.append(timed(server.pid, "bare DRF insert", args.port, "/bench/bare", {}, args))
            before = redis_commands(args.redis_url)
            sends.append(
                timed(server.pid, "POST /v1/messages", args.port, "/v1/messages", auth, args)
            )
            after = redis_commands(args.redis_url)
            for name, calls in after.items():
                commands[name] = commands.get(name, 0) + calls - before.get(name, 0)
            ratios.append(sends[-1]["throughput_rps"] / bares[-1]["throughput_rps"])
        sent = sum(int(s["requests"]) for s in sends)
        per_send = {name: calls / sent for name, calls in commands.items() if calls}
        # The statements of one send, counted inside the web stack (with --sql, listed).
        probe = subprocess.run(
            [sys.executable, "bench/send_probe.py", "--api-key", account["api_key"]]
            + (["--sql"] if args.sql else []),
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        probed = json.loads(probe.stdout.strip().splitlines()[-1])
        print("summary (median of the pairs)")
        print(
            f"  throughput ratio (messages / bare): {statistics.median(ratios):.2f}"
            f"   pairs: {', '.join(f'{r:.2f}' for r in ratios)}"
        )
        print(
            f"  POST /v1/messages p99: {statistics.median(s['p99_ms'] for s in sends):.1f} ms"
            f" (worst pair {max(s['p99_ms'] for s in sends):.1f} ms), p50 "
            f"{statistics.median(s['p50_ms'] for s in sends):.1f} ms"
        )
        print(
            f"  gunicorn CPU per request: send "
            f"{statistics.median(s['cpu_ms'] for s in sends):.2f} ms, bare "
            f"{statistics.median(b['cpu_ms'] for b in bares):.2f} ms"
        )
        print(
            "  one send, inside the web stack: SQL statements "
            f"{probed['statements']}, Redis round trips {probed['redis_round_trips']}"
        )
        print(
            "  Redis commands per send over the run (INFO commandstats, the broker's and those "
            f"run inside scripts included): {sum(per_send.values()):.2f}   "
            + ", ".join(f"{name} {calls:.2f}" for name, calls in sorted(per_send.items()))
        )
        errors = sum(int(s["errors"]) for s in sends + bares)
        if errors:
            print(f"  ERRORS: {errors} responses were not 2xx")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
