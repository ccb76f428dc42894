"""Benchmark POST /v1/messages against a bare DRF insert, on the real stack, in one run.

Starts gunicorn (production settings) on a scratch PostgreSQL database and Redis database,
fires the same number of requests at the same concurrency at both endpoints, and prints
throughput and latency percentiles with their ratio. Nothing consumes the dispatch tasks:
this measures what a client waits for (validation, routing, the committed row, its history,
its outbox event, the idempotency record, the enqueue), not delivery.

    make bench            # or: .venv/bin/python bench/run.py --requests 3000 --concurrency 16
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

ROOT = Path(__file__).resolve().parent.parent
PORT = 8899
DB_NAME = "switchboard_bench"
PG = "postgres://postgres@127.0.0.1:5432"


def sh(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        args, cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare(env: dict[str, str]) -> dict[str, str]:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_row (id bigserial PRIMARY KEY, body jsonb NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    sh(sys.executable, "manage.py", "migrate", "--noinput", env=env)
    account = json.loads(sh(sys.executable, "manage.py", "create_account", "Bench", env=env))
    sh(sys.executable, "manage.py", "set_rate_limit", account["account_id"], "10000000", env=env)
    sh(sys.executable, "manage.py", "assign_handle", account["account_id"], "+14155550123", env=env)
    return account


def fire(
    path: str, headers: dict[str, str], body: dict[str, object], requests: int, concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
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


def summary(name: str, wall: float, latencies: list[float], errors: int) -> dict[str, float]:
    ordered = sorted(latencies)
    result = {
        "requests": len(ordered),
        "errors": errors,
        "throughput_rps": len(ordered) / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
    }
    print(
        f"{name:<22} {result['throughput_rps']:8.1f} req/s   p50 {result['p50_ms']:7.2f} ms   "
        f"p99 {result['p99_ms']:7.2f} ms   errors {errors}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "SECRET_KEY": "bench-only",
        "LOG_LEVEL": "WARNING",
    }
    account = prepare(env)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
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
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {account['api_key']}"}
        message: dict[str, object] = {
            "to": "+14155550199",
            "text": "benchmark",
            "metadata": {"n": "1"},
        }
        # Warm both paths (connections, imports) before measuring.
        fire("/bench/bare", {}, message, 200, args.concurrency)
        fire("/v1/messages", auth, message, 200, args.concurrency)
        print(
            f"{args.requests} requests, concurrency {args.concurrency}, gunicorn "
            f"{args.workers} workers x {args.threads} threads, {os.cpu_count()} cores"
        )
        bare = summary(
            "bare DRF insert", *fire("/bench/bare", {}, message, args.requests, args.concurrency)
        )
        send = summary(
            "POST /v1/messages",
            *fire("/v1/messages", auth, message, args.requests, args.concurrency),
        )
        throughput = send["throughput_rps"] / bare["throughput_rps"]
        p50, p99 = send["p50_ms"] / bare["p50_ms"], send["p99_ms"] / bare["p99_ms"]
        print(
            f"ratio (messages / bare): throughput {throughput:.2f}, p50 {p50:.2f}x, p99 {p99:.2f}x"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
