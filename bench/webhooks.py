"""Benchmark webhook delivery against a raw `requests.post` loop, on the real stack, in one run.

A local receiver (its own process, a threaded HTTP/1.1 server answering 200 at once) counts
every POST by `webhook-id`. One account with one endpoint on it; the Procfile's `webhooks`
worker process(es) (`config.procfile.procfile_commands`) consume the deliveries; this process
publishes the events (`event_publish_many`, in batches, as the dispatcher and the receipts
do) and, in the same run, POSTs the same bodies to the same receiver in a plain
`requests.post` loop. Printed: deliveries/s and the ratio per worker process to the raw
loop, Celery CPU per delivery, PostgreSQL connections opened (`pg_stat_database.sessions`)
and transactions per delivery, duplicates at the receiver, the queue's task count. First, a
backlog (10,000 events) is published before any worker runs and swept three times: the
tasks it queued are printed, then the time the worker(s) take to drain it.

Scratch database `switchboard_bench_h5`; Redis on port 6395 (started here if none answers,
stopped at the end); receiver on port 8901.

    .venv/bin/python bench/webhooks.py      # --events 4000 --processes 1 --backlog 10000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scratch import PG, database_create, migrate  # noqa: E402

DB_NAME = "switchboard_bench_h5"
RECEIVER_PORT = 8901
DEFAULT_REDIS = "redis://127.0.0.1:6395/0"


# --- the receiver (its own process) ------------------------------------------------------


def serve(port: int) -> None:
    """Answer every POST 200 at once over kept-alive connections; GET /stats counts them."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are two writes: without TCP_NODELAY the body waits for the
        # client's delayed ACK (tens of ms a request on a kept-alive connection).
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            webhook_id = self.headers.get("webhook-id", "")
            if self.path.startswith("/hooks"):
                with lock:
                    seen[webhook_id] += 1
            self._answer(b'{"ok":true}')

        def do_GET(self) -> None:
            with lock:
                stats = {"posts": sum(seen.values()), "unique": len(seen)}
            self._answer(json.dumps(stats).encode())

        def _answer(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def receiver_stats(port: int) -> dict[str, int]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/stats")
    stats: dict[str, int] = json.loads(conn.getresponse().read())
    conn.close()
    return stats


# --- measuring ----------------------------------------------------------------------------


def pg_counters(conn: Any) -> tuple[int, int]:
    """(sessions opened, transactions) on the scratch database so far."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
        [DB_NAME],
    ).fetchone()
    return int(row[0]), int(row[1])


def ensure_redis(url: str) -> subprocess.Popen[bytes] | None:
    """Start a throwaway redis-server on the URL's port if nothing answers there."""
    import redis

    try:
        redis.Redis.from_url(url).ping()
        return None
    except redis.ConnectionError:
        pass
    port = str(urlsplit(url).port or 6379)
    server = subprocess.Popen(
        ["redis-server", "--port", port, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return server
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"redis-server on port {port} did not start")


def raw_loop(url: str, bodies: list[bytes]) -> tuple[float, float]:
    """POST each body with `requests.post` (a new session each, as one would write it);
    (posts/s, CPU ms per post of this process)."""
    import requests

    started, cpu = time.perf_counter(), time.process_time()
    for body in bodies:
        response = requests.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        response.raise_for_status()
    wall = time.perf_counter() - started
    return len(bodies) / wall, (time.process_time() - cpu) * 1000 / len(bodies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--processes", type=int, default=1, help="webhooks worker processes")
    parser.add_argument("--batch", type=int, default=100, help="events per publish call")
    parser.add_argument(
        "--backlog", type=int, default=10_000, help="events published before workers start"
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()

    redis_server = ensure_redis(args.redis_url)
    try:
        run(args)
    finally:
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)


def run(args: argparse.Namespace) -> None:
    """Set up, measure, print (the Redis at `args.redis_url` answers)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-only",
        "LOG_LEVEL": "WARNING",
        "SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS": "true",  # the receiver is on 127.0.0.1
        "SWITCHBOARD_VAR_DIR": str(ROOT / "var" / "bench-webhooks"),
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)

    import psycopg
    import redis

    database_create(DB_NAME)
    redis.Redis.from_url(args.redis_url).flushdb()
    migrate(env)

    receiver = multiprocessing.get_context("spawn").Process(
        target=serve, args=(RECEIVER_PORT,), daemon=True
    )
    receiver.start()

    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from accounts import services as account_services
    from bench.procstat import process_cpu_seconds
    from config.procfile import procfile_commands
    from webhooks import services
    from webhooks.models import WebhookDelivery

    account, _ = account_services.account_create(name="Bench webhooks")
    endpoint = services.webhook_endpoint_create(
        account=account, url=f"http://127.0.0.1:{RECEIVER_PORT}/hooks", events=["*"]
    )
    # An event the size of a message's: what message.* events carry.
    data = {
        "id": "msg_" + "x" * 24,
        "object": "message",
        "status": "sent",
        "to": "+14155550199",
        "from": "+14155550123",
        "text": "benchmark " * 12,
        "metadata": {"n": "1"},
        "attachments": [],
        "created_at": "2026-11-27T10:00:00.000Z",
    }

    queue = redis.Redis.from_url(args.redis_url)
    if args.backlog:
        # The acceptance "a backlog of 10,000 events leaves at most one queued task per
        # event": published with no worker running, then beat's sweep three times over it.
        for start in range(0, args.backlog, args.batch):
            services.event_publish_many(
                events=[
                    {"account": account, "type": "message.sent", "data": data}
                    for _ in range(min(args.batch, args.backlog - start))
                ]
            )
        after_publish = queue.llen("webhooks")
        for _ in range(3):
            services.deliveries_sweep()
        print(
            f"backlog: {args.backlog} events published with no worker running: "
            f"{after_publish} task(s) queued; after 3 sweeps: {queue.llen('webhooks')}"
        )

    argv = procfile_commands(env, python=sys.executable)["webhooks"]
    log_dir = ROOT / "var" / "bench-webhooks"
    log_dir.mkdir(parents=True, exist_ok=True)
    workers = []
    for n in range(args.processes):
        with (log_dir / f"webhooks-{n}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [*argv, "--hostname", f"webhooks{n}@%h"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    stats_conn = psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True)
    try:
        from config.celery import app as celery_app

        deadline = time.monotonic() + 60
        while len(celery_app.control.ping(timeout=0.5) or []) < args.processes:
            if time.monotonic() > deadline:
                raise SystemExit("the webhooks worker(s) did not start")
        for _ in range(100):
            try:
                receiver_stats(RECEIVER_PORT)
                break
            except OSError:
                time.sleep(0.1)

        def publish_and_wait(count: int) -> float:
            before = receiver_stats(RECEIVER_PORT)["unique"]
            started = time.perf_counter()
            for start in range(0, count, args.batch):
                services.event_publish_many(
                    events=[
                        {"account": account, "type": "message.sent", "data": data}
                        for _ in range(min(args.batch, count - start))
                    ]
                )
            deadline = time.monotonic() + 600
            while receiver_stats(RECEIVER_PORT)["unique"] < before + count:
                if time.monotonic() > deadline:
                    raise SystemExit("deliveries did not all arrive within 10 minutes")
                time.sleep(0.05)
            wall = time.perf_counter() - started
            while WebhookDelivery.objects.filter(status="pending").exists():
                time.sleep(0.05)  # every attempt recorded
            return wall

        if args.backlog:
            started = time.perf_counter()
            while WebhookDelivery.objects.filter(status="pending").exists():
                time.sleep(0.05)
            print(
                f"backlog drained in {time.perf_counter() - started:.1f} s once the worker(s) "
                "answered (their warm-up)"
            )
        else:
            publish_and_wait(200)  # warm-up: imports, pools, sessions
        time.sleep(1.5)
        sessions_before, xacts_before = pg_counters(stats_conn)
        cpu_before = sum(process_cpu_seconds(w.pid) for w in workers)
        wall = publish_and_wait(args.events)
        cpu = sum(process_cpu_seconds(w.pid) for w in workers) - cpu_before
        time.sleep(1.5)  # backends report their counters within a second
        sessions_after, xacts_after = pg_counters(stats_conn)
        stats = receiver_stats(RECEIVER_PORT)
        queued = queue.llen("webhooks")
        from webhooks.delivery import event_body

        bodies = [
            event_body(
                event_id=f"evt_raw{n}",
                type="message.sent",
                created_at=endpoint.created_at,
                data=data,
            )
            for n in range(args.events)
        ]
        raw_rate, raw_cpu = raw_loop(f"http://127.0.0.1:{RECEIVER_PORT}/raw", bodies)

        rate = args.events / wall
        per_process = rate / args.processes
        succeeded = WebhookDelivery.objects.filter(status="succeeded").count()
        print(
            f"{args.events} events, 1 endpoint, {args.processes} webhooks worker process(es) "
            f"({' '.join(argv[argv.index('worker') :])}), {os.cpu_count()} cores"
        )
        print(
            f"webhook delivery    {rate:8.1f} deliveries/s   {cpu * 1000 / args.events:6.2f} ms "
            f"Celery CPU/delivery   wall {wall:.1f} s"
        )
        print(
            f"raw requests.post   {raw_rate:8.1f} posts/s        {raw_cpu:6.2f} ms CPU/post "
            "(one process, a new session each)"
        )
        print(f"ratio per worker process (delivery / raw loop): {per_process / raw_rate:.2f}")
        print(
            f"PostgreSQL: {sessions_after - sessions_before} connections opened, "
            f"{(xacts_after - xacts_before) / args.events:.2f} transactions/delivery"
        )
        print(
            f"receiver: {stats['posts']} POSTs for {stats['unique']} webhook-ids "
            f"(backlog or warm-up included): {stats['posts'] - stats['unique']} duplicates; "
            f"deliveries succeeded {succeeded}; tasks left queued {queued}"
        )
    finally:
        stats_conn.close()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        receiver.terminate()


if __name__ == "__main__":
    main()
