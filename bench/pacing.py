"""Pacing accuracy at 100 handles: each handle at its set rate (within 1 %), never above it.

One command. On a scratch PostgreSQL database and a Redis of its own it makes 100 handles of
one account (60 a minute, burst 1 by default), each with a device and a backlog larger than
the run can send, then starts the Procfile's `worker` and `beat` lines as they are deployed,
and a device stand-in that keeps the 100 devices online and takes every job at once (so the
only limit is pacing). After `--duration` seconds it reads, per handle, the moments its
messages were handed to the device (their `sending` history rows, written by the dispatcher
when it spends the token) and prints:

- the achieved rate per handle over its run, (n - 1) / (last - first), against the set
  rate: min / mean / max error, and how many handles are within 1 %;
- the gaps between one handle's dispatches (p1 / p50 / p99 / max) and the machine's load
  average, since a starved worker is late and lateness beyond one token is lost;
- the most messages of one handle in any 60-second window (sliding, [t, t + 60 s) from
  each dispatch) against per_minute + burst;
- Celery tasks published per dispatched message (the broker's LPUSH count over the run, beat's
  sweeps included) with the tasks the worker received by name, and the worker's CPU per
  dispatched message.

    .venv/bin/python bench/pacing.py
    .venv/bin/python bench/pacing.py --redis-url redis://127.0.0.1:6392/0 \\
        --db-name switchboard_bench_h2 --duration 150
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from copy import copy
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import tree_cpu_seconds  # noqa: E402
from bench.scratch import PG, database_create, migrate  # noqa: E402
from config.procfile import procfile_commands  # noqa: E402


def prepare_database(db_name: str, env: dict[str, str]) -> None:
    database_create(db_name)
    migrate(env)


def make_backlog(handles: int, per_minute: int, burst: int, backlog: int) -> list[Any]:
    """The handles, each with a device that has called and `backlog` queued messages: one
    sent through `message_send`, the rest copies of it (a microsecond apart in the queue)."""
    from accounts import services as account_services
    from handles import services as handle_services
    from messaging.models import Message, new_message_id
    from messaging.services.sending import message_send

    account, _ = account_services.account_create(name="Pacing")
    made = []
    for n in range(handles):
        handle = handle_services.handle_assign(
            account=account,
            address=f"+1415555{1000 + n}",
            per_minute=per_minute,
            burst=burst,
            new_contact_budget=None,
        )
        device = handle_services.device_attach(handle=handle, simulated=True).device
        handle_services.device_seen(device=device)
        first = message_send(account=account, to="+14155560000", from_handle=handle.address)
        assert first.queued_at is not None
        copies = []
        for n in range(1, backlog):
            copy_of_first = copy(first)
            copy_of_first.id = new_message_id()
            copy_of_first.queued_at = first.queued_at + timedelta(microseconds=n)
            copies.append(copy_of_first)
        Message.objects.bulk_create(copies, batch_size=1000)
        made.append((handle, device))
    return made


def stand_in(device_ids: list[str], handle_ids: list[int], stop: threading.Event) -> None:
    """The devices: all seen twice a second, every job taken (and done) as soon as it exists."""
    from django.db import connection
    from django.utils import timezone

    from handles.models import Device, Job

    while not stop.wait(0.5):
        now = timezone.now()
        Device.objects.filter(pk__in=device_ids).update(last_seen_at=now)
        Job.objects.filter(handle_id__in=handle_ids, status=Job.Status.PENDING).update(
            status=Job.Status.SUCCEEDED, finished_at=now
        )
    connection.close()


def worst_window(times: list[datetime]) -> int:
    """The most of `times` in any [t, t + 60 s) starting at one of them."""
    worst, end = 0, 0
    for start in range(len(times)):
        while end < len(times) and times[end] - times[start] < timedelta(seconds=60):
            end += 1
        worst = max(worst, end - start)
    return worst


def lpush_calls(client: Any) -> int:
    return int(client.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--handles", type=int, default=100)
    parser.add_argument("--per-minute", type=int, default=60)
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument(
        "--duration", type=float, default=150, help="seconds measured, from the first dispatch"
    )
    parser.add_argument("--db-name", default="switchboard_bench_pacing")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="pacing-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"{PG}/{args.db_name}",
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",
        "SWITCHBOARD_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    import redis

    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    prepare_database(args.db_name, env)

    import django

    django.setup()
    from handles.models import Handle
    from messaging.models import MessageStatusEvent

    backlog = int(args.per_minute * args.duration / 60 * 1.2) + args.burst + 10
    print(
        f"{args.handles} handles at {args.per_minute}/min, burst {args.burst}; "
        f"{backlog} queued messages each; {args.duration:.0f} s of dispatch measured"
    )
    made = make_backlog(args.handles, args.per_minute, args.burst, backlog)
    handle_ids = [handle.pk for handle, _ in made]
    device_ids = [device.pk for _, device in made]

    commands = procfile_commands(env, python=sys.executable)
    logs = var_dir / "logs"
    logs.mkdir()
    stop = threading.Event()
    devices = threading.Thread(target=stand_in, args=(device_ids, handle_ids, stop), daemon=True)
    devices.start()
    processes = {}
    for name in ("worker", "beat"):
        log = (logs / f"{name}.log").open("wb")
        processes[name] = subprocess.Popen(
            commands[name], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    print("worker:", " ".join(commands["worker"][1:]))
    sending = MessageStatusEvent.objects.filter(status="sending")
    try:
        # The clock starts at the first dispatch: a worker's start-up is not pacing.
        while not sending.exists():
            time.sleep(0.2)
        started = sending.order_by("at").values_list("at", flat=True)[0]
        pushes_before = lpush_calls(broker)
        cpu_before = tree_cpu_seconds(processes["worker"].pid)
        load_before = os.getloadavg()[0]
        time.sleep(args.duration)
        worker_cpu = tree_cpu_seconds(processes["worker"].pid) - cpu_before
        pushes = lpush_calls(broker) - pushes_before
        ended = sending.order_by("-at").values_list("at", flat=True)[0]
    finally:
        stop.set()
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    rows = sending.filter(
        message__handle_id__in=handle_ids, at__gte=started, at__lte=ended
    ).values_list("message__handle_id", "at")
    by_handle: dict[int, list[datetime]] = {pk: [] for pk in handle_ids}
    for handle_id, at in rows:
        by_handle[handle_id].append(at)
    errors, windows, spans, gaps = [], [], [], []
    for times in by_handle.values():
        times.sort()
        if len(times) < 2:
            errors.append(-1.0)
            windows.append(len(times))
            continue
        span = (times[-1] - times[0]).total_seconds()
        spans.append(span)
        gaps += [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
        errors.append((len(times) - 1) / span * 60 / args.per_minute - 1)
        windows.append(worst_window(times))
    dispatched = sum(len(times) for times in by_handle.values())
    received = Counter(
        match.group(1)
        for match in re.finditer(
            r"Task (\S+)\[[^\]]+\] received", (logs / "worker.log").read_text(errors="replace")
        )
    )
    limit = args.per_minute + args.burst
    within = sum(abs(error) <= 0.01 for error in errors)
    print(
        f"dispatched: {dispatched} messages over {len(by_handle)} handles in "
        f"{(ended - started).total_seconds():.1f} s"
    )
    print(
        f"handle span: min {min(spans, default=0):.1f} s, "
        f"mean {statistics.fmean(spans) if spans else 0:.1f} s"
    )
    print(
        "rate error vs set rate: "
        f"min {min(errors) * 100:+.2f} %, mean {statistics.fmean(errors) * 100:+.2f} %, "
        f"max {max(errors) * 100:+.2f} %; within 1 %: {within}/{len(errors)} handles"
    )
    gaps.sort()
    if gaps:
        print(
            f"gap between a handle's dispatches (set: {60 / args.per_minute:.3f} s): "
            f"p1 {gaps[len(gaps) // 100]:.3f} s, p50 {gaps[len(gaps) // 2]:.3f} s, "
            f"p99 {gaps[len(gaps) * 99 // 100]:.3f} s, max {gaps[-1]:.3f} s"
        )
    print(
        f"worst 60-s window: {max(windows)} messages (limit per_minute + burst = {limit}); "
        f"handles above the limit: {sum(w > limit for w in windows)}"
    )
    print(
        f"Celery tasks published: {pushes} = {pushes / max(dispatched, 1):.3f} per dispatched "
        "message (beat's sweeps included)"
    )
    print("tasks the worker received:", json.dumps(dict(received.most_common())))
    print(
        f"worker CPU: {worker_cpu:.1f} s = {worker_cpu / max(dispatched, 1) * 1000:.2f} ms "
        "per dispatched message"
    )
    print(f"load average at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f}")
    print("handles:", Handle.objects.filter(pk__in=handle_ids).count(), "logs:", logs)


if __name__ == "__main__":
    main()
