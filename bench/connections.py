"""What idle devices cost: N devices long-polling `GET /device/v1/jobs?wait=25`, no jobs.

For each `--devices` count, serves the device protocol twice from the Procfile's own lines on
a scratch PostgreSQL database — the `agents` process (ASGI: waits in the event loop) and the
`web` process (WSGI threads, `--threads` one per device plus four, as the operations guide
used to advise) — lets that many devices (a light asyncio HTTP client in this process, one
keep-alive connection per device, re-polling as soon as a poll returns) wait for jobs that
never come, and over `--window` seconds prints, for the one worker process serving them:
its threads, its resident memory, its CPU, the PostgreSQL sessions it holds and opens per
second, the transactions per second (the re-checks), the Redis connections, and how many polls
it answered (each poll waits 25 s) and how many answers were not 200.

    .venv/bin/python bench/connections.py                     # 100 and 500 devices
    BENCH_REDIS_URL=redis://127.0.0.1:6394/0 .venv/bin/python bench/connections.py \\
        --devices 100 --agents-port 8899 --web-port 8898
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scratch import PG, database_create, database_drop, migrate  # noqa: E402

WAIT = 25


def environment(db_name: str, var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"{PG}/{db_name}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "SECRET_KEY": "bench-only",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SWITCHBOARD_PROXY_SSL_HEADER": "none",
        "SWITCHBOARD_VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


PROVISION = """
from accounts import services as accounts
from handles import services as handles
account, _ = accounts.account_create(name="Idle fleet")
for n in range(COUNT):
    handle = handles.handle_assign(account=account, address=f"+1415{5000000 + n:07d}")
    print(handles.device_attach(handle=handle, simulated=True).token)
"""


def provision(env: dict[str, str], devices: int) -> list[str]:
    """Migrate the scratch database and attach `devices` devices; their tokens."""
    migrate(env)
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROVISION.replace("COUNT", str(devices))],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line for line in out.splitlines() if line.startswith("sbd_")]


def start(
    name: str, env: dict[str, str], port: int, log: Path, threads: int
) -> subprocess.Popen[bytes]:
    from config.procfile import procfile_commands

    argv = procfile_commands(
        {
            **env,
            "PORT": str(port),
            "AGENTS_PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "AGENTS_CONCURRENCY": "1",
            "WEB_THREADS": str(threads),
            "AGENTS_CONNECTIONS": "2000",
        },
        python=sys.executable,
    )[name]
    bind = argv.index("--bind")
    argv[bind + 1] = f"127.0.0.1:{port}"
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def worker_pid(master: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise SystemExit("the server started no worker")


def wait_until_up(port: int, timeout: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing answered on port {port}")


# --- the devices: one keep-alive connection each, re-polling at once -------------------------


class Fleet:
    def __init__(self, port: int, tokens: list[str]) -> None:
        self.port = port
        self.tokens = tokens
        self.answered = 0
        self.errors = 0
        self.stopping = False

    async def device(self, token: str) -> None:
        request = (
            f"GET /device/v1/jobs?wait={WAIT}&limit=10 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Device {token}\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            while not self.stopping:
                writer.write(request)
                await writer.drain()
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b" 200 " in status:
                    self.answered += 1
                else:
                    self.errors += 1
                    await asyncio.sleep(1)
        finally:
            writer.close()

    async def run(self, seconds: float, measure: Any) -> dict[str, float]:
        tasks = [asyncio.ensure_future(self.device(t)) for t in self.tokens]
        await asyncio.sleep(5)  # every device has polled, been parked and is waiting
        answered_before = self.answered
        figures: dict[str, float] = await asyncio.get_running_loop().run_in_executor(
            None, measure, seconds
        )
        figures["polls answered/s"] = (self.answered - answered_before) / seconds
        figures["errors"] = self.errors
        self.stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return figures


# --- what the worker costs ---------------------------------------------------------------------


def process_figures(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
    return {"threads": threads, "rss_mib": rss_kib / 1024, "cpu_s": cpu_s}


def database_figures(db_name: str) -> dict[str, float]:
    import psycopg

    with psycopg.connect(f"{PG}/{db_name}", autocommit=True) as conn:
        opened = conn.execute(
            "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
        held = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchone()
    assert opened is not None
    assert held is not None
    return {"sessions": float(opened[0]), "held": float(held[0]), "xacts": float(opened[1])}


def redis_clients() -> int:
    import redis

    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    return int(redis.Redis.from_url(url).info("clients")["connected_clients"])


def measured(pid: int, db_name: str, redis_before: int) -> Any:
    def measure(seconds: float) -> dict[str, float]:
        process_start, db_start = process_figures(pid), database_figures(db_name)
        peak_threads = process_start["threads"]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.5)
            peak_threads = max(peak_threads, process_figures(pid)["threads"])
        process_end, db_end = process_figures(pid), database_figures(db_name)
        return {
            "threads (peak)": peak_threads,
            "RSS MiB": process_end["rss_mib"],
            "CPU %": 100 * (process_end["cpu_s"] - process_start["cpu_s"]) / seconds,
            "PG sessions held": db_end["held"],
            "PG sessions opened/s": (db_end["sessions"] - db_start["sessions"]) / seconds,
            "PG transactions/s": (db_end["xacts"] - db_start["xacts"]) / seconds,
            "Redis connections": redis_clients() - redis_before,
        }

    return measure


def one_run(
    name: str, devices: int, tokens: list[str], env: dict[str, str], port: int, args: Any, tmp: Path
) -> dict[str, float]:
    redis_before = redis_clients()
    master = start(name, env, port, tmp / f"{name}-{devices}.log", threads=devices + 4)
    try:
        wait_until_up(port)
        pid = worker_pid(master.pid)
        idle = process_figures(pid)
        fleet = Fleet(port, tokens[:devices])
        figures = asyncio.run(fleet.run(args.window, measured(pid, args.db, redis_before)))
        figures["threads (idle)"] = idle["threads"]
        figures["RSS MiB (idle)"] = idle["rss_mib"]
        return figures
    finally:
        master.terminate()
        try:
            master.wait(timeout=40)
        except subprocess.TimeoutExpired:
            master.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="100,500", help="comma-separated fleet sizes")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--db", default="switchboard_bench_connections", help="scratch database")
    parser.add_argument("--agents-port", type=int, default=8899)
    parser.add_argument("--web-port", type=int, default=8898)
    args = parser.parse_args()
    sizes = [int(n) for n in args.devices.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="bench-connections-"))
    env = environment(args.db, str(tmp / "var"))
    database_create(args.db)
    try:
        tokens = provision(env, max(sizes))
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(
            f"{os.cpu_count()} cores, load average {load}; each device re-polls with "
            f"wait={WAIT} as soon as a poll returns; no jobs; measured over {args.window:.0f} s "
            f"on the one worker process serving them (logs in {tmp})\n"
        )
        columns = [
            "threads (idle)",
            "threads (peak)",
            "RSS MiB (idle)",
            "RSS MiB",
            "CPU %",
            "PG sessions held",
            "PG sessions opened/s",
            "PG transactions/s",
            "Redis connections",
            "polls answered/s",
            "errors",
        ]
        print("| process | devices | " + " | ".join(columns) + " |")
        print("|---|---|" + "---|" * len(columns))
        for devices in sizes:
            for name, port in (("agents", args.agents_port), ("web", args.web_port)):
                figures = one_run(name, devices, tokens, env, port, args, tmp)
                cells = " | ".join(f"{figures[c]:.1f}" for c in columns)
                print(f"| {name} | {devices} | {cells} |", flush=True)
    finally:
        database_drop(args.db)


if __name__ == "__main__":
    main()
