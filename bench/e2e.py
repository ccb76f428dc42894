"""End to end: POST /v1/messages → device → `delivered` → `read`, over 100 handles, in one run.

Starts a private Redis and a scratch PostgreSQL database, runs the release step, then every
other process of the Procfile (web, worker, webhooks, beat, and `agents` when the Procfile
has it: the long-polls go there), one simulator process running a `SimulatedDevice` per
handle, and a load generator that POSTs messages at a steady rate round-robin over the
handles (paced at 6,000/min per handle, so pacing is never the limit). It waits until every
accepted message is `read`, then prints:

- sustained messages/s from the first POST to the last `delivered`, and created→delivered
  p50/p99;
- lost (accepted, never received by a device), duplicated (received twice, counted at the
  simulator by message id), receipts lost (not `read` at the end), 5xx answers, report
  batches the simulator had to send again;
- CPU per message of each process (utime+stime of the process and all its descendants,
  from /proc, over the run), and PostgreSQL sessions opened during the run
  (`pg_stat_database.sessions`) with the most backends seen at once.

    .venv/bin/python bench/e2e.py                      # 3,000 messages at 150/s
    .venv/bin/python bench/e2e.py --messages 6000 --rate 200 --port 8894

Sizes come from the Procfile's defaults, or the environment (WEB_CONCURRENCY, …).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.e2e_devices import prepare, simulate  # noqa: E402
from bench.e2e_measure import Sampler, access_log_calls, pg, pg_close  # noqa: E402
from bench.procstat import tree_cpu_seconds  # noqa: E402
from bench.scratch import PG, database_create  # noqa: E402
from config.procfile import procfile_commands  # noqa: E402

# --- load -----------------------------------------------------------------------------------


def load(
    port: int, key: str, handles: list[str], messages: int, rate: float, threads: int
) -> dict[str, Any]:
    """POST `messages` at `rate` a second (each at its slot, from `threads` connections)."""
    accepted: dict[str, float] = {}
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    counter = iter(range(messages))
    start = time.monotonic() + 0.5
    wall_start = time.time() + 0.5

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps(
                {
                    "from_handle": handles[n % len(handles)],
                    # Never …0000 or …9999, which the simulator fails on purpose.
                    "to": f"+1415700{1000 + n % 5000:04d}",
                    "text": f"e2e {n}",
                }
            )
            try:
                conn.request("POST", "/v1/messages", body, headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
                payload = b""
            with lock:
                statuses[status] += 1
                if status == 202:
                    accepted[json.loads(payload)["data"]["id"]] = time.time()
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {
        "accepted": accepted,
        "statuses": statuses,
        "wall_start": wall_start,
        "seconds": time.monotonic() - start,
    }


# --- the run --------------------------------------------------------------------------------


def wait_http(port: int, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"nothing answered on port {port} within {timeout:.0f} s")


def wait_workers(logs: dict[str, Path], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for name, log in logs.items():
        while b" ready." not in log.read_bytes():
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start: see {log}")
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=150.0, help="POSTs a second")
    parser.add_argument("--handles", type=int, default=100)
    parser.add_argument("--threads", type=int, default=16, help="load generator connections")
    parser.add_argument("--port", type=int, default=8894, help="web; agents on port + 1")
    parser.add_argument("--redis-port", type=int, default=8896)
    parser.add_argument("--db", default="switchboard_bench_e2e")
    parser.add_argument("--timeout", type=float, default=300, help="s to wait for `read`")
    parser.add_argument(
        "--linger", type=float, default=0.5, help="s a device's report waits for company"
    )
    parser.add_argument("--idle", type=float, default=10, help="s measured idle before the load")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="switchboard-e2e-"))
    children: dict[str, subprocess.Popen[bytes]] = {}
    redis = subprocess.Popen(
        ["redis-server", "--port", str(args.redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        import redis as redis_client

        deadline = time.monotonic() + 10
        while True:
            try:
                redis_client.Redis(port=args.redis_port).flushall()
                break
            except redis_client.ConnectionError:
                if time.monotonic() > deadline or redis.poll() is not None:
                    raise SystemExit(f"no Redis on port {args.redis_port}") from None
                time.sleep(0.1)
        run(args, work, children)
    finally:
        pg_close()
        for process in children.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in children.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        redis.terminate()
        redis.wait(timeout=10)
        if args.keep:
            print(f"logs: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, children: dict[str, subprocess.Popen[bytes]]) -> None:
    database_create(args.db)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"{PG}/{args.db}",
        "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0",
        "SECRET_KEY": "e2e-bench-only",
        "LOG_LEVEL": "WARNING",
        "SWITCHBOARD_VAR_DIR": str(work / "var"),
        "SWITCHBOARD_PROXY_SSL_HEADER": "none",
        "PORT": str(args.port),
        "AGENTS_PORT": str(args.port + 1),
        "PYTHONUNBUFFERED": "1",
    }
    commands = procfile_commands(env, python=sys.executable)
    subprocess.run(commands["release"], cwd=ROOT, env=env, check=True, capture_output=True)
    tokens = work / "tokens.json"
    subprocess.run(
        [sys.executable, __file__, "_prepare", str(tokens), str(args.handles)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    setup = json.loads(tokens.read_text())
    logs: dict[str, Path] = {}
    for name, argv in commands.items():
        if name == "release":
            continue
        logs[name] = work / f"{name}.log"
        with logs[name].open("wb") as log:
            children[name] = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**env, "PGAPPNAME": name},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    wait_http(args.port, "/healthz")
    agents = None
    if "agents" in commands:
        wait_http(args.port + 1, "/healthz")
        agents = f"http://127.0.0.1:{args.port + 1}"
    wait_workers({n: p for n, p in logs.items() if "worker" in commands[n]})
    summary = work / "simulator.json"
    with (work / "simulator.log").open("wb") as log:
        children["simulator"] = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "_simulate",
                str(tokens),
                str(summary),
                f"http://127.0.0.1:{args.port}",
                agents or "",
                str(args.linger),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while pg(args.db, "SELECT count(*) FROM handles_handle WHERE status = 'online'")[0][0] < len(
        setup["handles"]
    ):
        if time.monotonic() > deadline:
            raise SystemExit("the simulated devices did not all come online within 60 s")
        time.sleep(0.5)

    sessions_before = pg(
        "postgres", "SELECT sessions FROM pg_stat_database WHERE datname = %s", args.db
    )[0][0]
    # Idle first: what 100 online devices cost with nothing to send (long-polls, heartbeats,
    # beat's sweeps), so the per-message figures below can be read against it.
    idle_before = {name: tree_cpu_seconds(process.pid) for name, process in children.items()}
    time.sleep(args.idle)
    idle = {
        name: (tree_cpu_seconds(process.pid) - idle_before[name]) / args.idle
        for name, process in children.items()
    }
    print(
        f"idle for {args.idle:.0f} s with {len(setup['handles'])} devices online, CPU: "
        + ", ".join(f"{name} {share * 100:.1f}%" for name, share in idle.items())
    )
    cpu_before = {name: tree_cpu_seconds(process.pid) for name, process in children.items()}
    measured_from = time.monotonic()
    sampler = Sampler(args.db)
    sampler.start()
    addresses = [item["address"] for item in setup["handles"]]
    print(
        f"{args.messages} messages at {args.rate:.0f}/s over {len(addresses)} handles; "
        f"processes: {', '.join(children)}; {os.cpu_count()} cores"
    )
    loaded = load(args.port, setup["api_key"], addresses, args.messages, args.rate, args.threads)
    accepted: dict[str, float] = loaded["accepted"]
    print(
        f"load: {len(accepted)} accepted in {loaded['seconds']:.1f} s "
        f"({len(accepted) / loaded['seconds']:.1f}/s); answers {dict(loaded['statuses'])}"
    )
    ids = list(accepted)
    deadline = time.monotonic() + args.timeout
    while True:
        counts = dict(
            pg(
                args.db,
                "SELECT status, count(*) FROM messaging_message WHERE id = ANY(%s) GROUP BY status",
                ids,
            )
        )
        if counts.get("read", 0) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    cpu_after = {name: tree_cpu_seconds(process.pid) for name, process in children.items()}
    measured_until = time.monotonic()
    calls = access_log_calls([logs[name] for name in ("web", "agents") if name in logs])
    sampler.stop.set()
    sessions_after = pg(
        "postgres", "SELECT sessions FROM pg_stat_database WHERE datname = %s", args.db
    )[0][0]
    children["simulator"].send_signal(signal.SIGTERM)
    children["simulator"].wait(timeout=30)
    simulated = json.loads(summary.read_text())

    first_post = loaded["wall_start"]
    rows = pg(
        args.db,
        "SELECT extract(epoch FROM created_at), extract(epoch FROM delivered_at) "
        "FROM messaging_message WHERE id = ANY(%s)",
        ids,
    )
    delivered = sorted(float(d) - float(c) for c, d in rows if d is not None)
    last_delivered = max((float(d) for _, d in rows if d is not None), default=first_post)
    received: dict[str, int] = simulated["received"]
    lost = sum(1 for i in ids if i not in received)
    duplicated = sum(1 for count in received.values() if count > 1)
    not_read = len(ids) - counts.get("read", 0)
    errors = sum(n for status, n in loaded["statuses"].items() if status >= 500 or status == 0)
    server_5xx = sum(count for call, count in calls.items() if call.startswith("5xx"))
    span = last_delivered - first_post
    print(f"status at the end: {counts}")
    print(
        f"sustained POST→delivered: {len(delivered) / span:.1f} messages/s "
        f"({len(delivered)} delivered in {span:.1f} s)"
    )
    if delivered:
        p99 = delivered[max(0, int(len(delivered) * 0.99) - 1)]
        print(
            f"created→delivered: p50 {statistics.median(delivered) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms"
        )
    print(
        f"lost {lost}, duplicated {duplicated} (at the simulator, by message id), receipts lost "
        f"{not_read} (not read), 5xx/no answer to POST {errors}, 5xx in the servers' access "
        f"logs {server_5xx}, report batches resent "
        f"{simulated['report_retries']}, reports refused {simulated['refused']}, "
        f"unreported {simulated['unreported']}"
    )
    done = max(1, len(accepted))
    seconds = measured_until - measured_from
    total = 0.0
    for name in children:
        used = cpu_after[name] - cpu_before[name]
        total += used
        print(
            f"cpu {name:<10} {used:7.1f} s  {used / done * 1000:7.2f} ms/message  "
            f"(of which idle cost {idle[name] * seconds / done * 1000:6.2f})"
        )
    print(f"cpu {'all':<10} {total:7.1f} s  {total / done * 1000:7.2f} ms/message")
    database = sampler.postgres_cpu()
    print(
        f"cpu {'postgresql':<10} {database:7.1f} s  {database / done * 1000:7.2f} ms/message  "
        "(its backends for this database, as sampled every 0.2 s)"
    )
    waits = sampler.waits.most_common(6)
    print(
        "active backends were (share of samples): "
        + ", ".join(f"{what} {count / max(1, sampler.samples):.2f}" for what, count in waits)
    )
    per_call = ", ".join(
        f"{call} {count / done:.2f}" for call, count in sorted(calls.items()) if count
    )
    print(f"HTTP calls per message (whole run, both servers): {per_call}")
    print(
        f"postgresql: {sessions_after - sessions_before} sessions opened during the run, "
        f"at most {sampler.most} backends at once; opened, as sampled, by "
        f"{dict(sampler.opened.most_common())}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_simulate":
        simulate(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] or None, float(sys.argv[6]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_prepare":
        prepare(sys.argv[2], int(sys.argv[3]))
    else:
        main()
