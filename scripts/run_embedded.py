"""`make run`: the whole platform on the embedded default, in one command.

Runs the Procfile's `release` line (migrations) on the SQLite database under ./var/, seeds
the demo account, starts every other process of the Procfile (web, agents, the dispatch
worker, the webhook delivery worker, beat) on the file-based broker, sized by EMBEDDED_SIZES:
the web first, on HOST:PORT (127.0.0.1:8000), and the rest once it answers; `agents` (the
device protocol's ASGI process) on HOST:AGENTS_PORT (a free port unless set). Then it starts
the device simulator for the demo handle, talking to `agents` as devices do in production,
and prints the demo API key with a curl line to try.
Ctrl-C stops everything; if any process dies, the others are stopped too and the exit
status says so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Before importing `config`, whose Celery app would default every child to production.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from config.procfile import procfile_commands  # noqa: E402

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
BASE_URL = f"http://{HOST}:{PORT}"


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return str(sock.getsockname()[1])


AGENTS_PORT = os.environ.get("AGENTS_PORT") or free_port()
AGENTS_URL = f"http://{HOST}:{AGENTS_PORT}"


def manage(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout


# The Procfile's processes, sized for one laptop: its own knobs, not a copy of its commands.
EMBEDDED_SIZES = {
    "WEB_CONCURRENCY": "2",
    "WEB_THREADS": "8",
    "AGENTS_CONCURRENCY": "1",
    "WORKER_CONCURRENCY": "2",
    "WEBHOOK_CONCURRENCY": "8",
}


def listening_on(argv: list[str], address: str) -> list[str]:
    """The web command bound to `address` only: the demo listens on loopback (HOST), not on
    every interface as a server behind a load balancer does."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in {"--bind", "-b"}:
            skip = True
        elif not arg.startswith("--bind="):
            out.append(arg)
    return [*out, "--bind", address]


def processes(env: dict[str, str]) -> dict[str, list[str]]:
    """Every process of the Procfile but `release` (main runs it first), as argv."""
    commands = procfile_commands(env, python=sys.executable)
    commands.pop("release", None)
    commands["web"] = listening_on(commands["web"], f"{HOST}:{PORT}")
    if "agents" in commands:
        commands["agents"] = listening_on(commands["agents"], f"{HOST}:{AGENTS_PORT}")
    return commands


def wait_until_up(
    children: dict[str, subprocess.Popen[bytes]], base_url: str = BASE_URL, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, child in children.items():
            if child.poll() is not None:
                raise SystemExit(f"make run: {name} exited with {child.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"make run: the server did not answer on {base_url} in {timeout:.0f} s")


def stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> int:
    env = {**EMBEDDED_SIZES, **os.environ, "HOST": HOST, "PORT": PORT, "AGENTS_PORT": AGENTS_PORT}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Every process writes what it counts for /metrics into one directory, emptied here so a
    # run starts from zero (contract.metrics; docs/operations.md, "Metrics").
    metrics_dir = Path(
        env.get("PROMETHEUS_MULTIPROC_DIR")
        or Path(env.get("SWITCHBOARD_VAR_DIR") or ROOT / "var") / "metrics"
    )
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    print("make run: preparing the database under ./var/ …", flush=True)
    release = procfile_commands(env, python=sys.executable).get("release")
    if release:
        subprocess.run(release, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    manage("collectstatic", "--noinput", env=env)
    demo = json.loads(manage("seed_demo", env=env))

    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        # The web first, alone: on a busy machine eight Python processes starting at once
        # kept it from answering for over a minute. The workers and beat follow once it does.
        commands = processes(env)
        children["web"] = subprocess.Popen(commands.pop("web"), cwd=ROOT, env=env)
        wait_until_up(children)
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, cwd=ROOT, env=env)
        # Devices talk to the agents process (the device protocol's long-polls), as in production.
        device_url = BASE_URL
        if "agents" in children:
            wait_until_up(children, AGENTS_URL)
            device_url = AGENTS_URL
        children["simulator"] = subprocess.Popen(
            [sys.executable, "manage.py", "simulate_devices", "--base-url", device_url],
            cwd=ROOT,
            env=env,
        )
        key = demo["api_key"]
        metrics_note = (
            "Bearer $SWITCHBOARD_METRICS_TOKEN"
            if env.get("SWITCHBOARD_METRICS_TOKEN")
            else "a 404 until SWITCHBOARD_METRICS_TOKEN is set"
        )
        print(
            "\n"
            f"Switchboard is running at {BASE_URL}  (Ctrl-C stops it)\n"
            f"  demo account: {demo['account_id']} (handle {demo['handle']}, simulated device)\n"
            f"  devices:      {device_url}/device/v1/ (the agents process)\n"
            f"  API key:      {key}\n"
            f"  API docs:     {BASE_URL}/v1/docs\n"
            f"  admin:        {BASE_URL}/admin/  (the operators' overview; "
            f"`manage.py createsuperuser` first)\n"
            f"  metrics:      {BASE_URL}/metrics  ({metrics_note})\n"
            f"  dashboard:    {BASE_URL}/dashboard/  "
            f"(sign in as {demo['owner_email']} / {demo['owner_password']})\n"
            f"  try:\n"
            f'curl -s {BASE_URL}/v1/account -H "Authorization: Bearer {key}"\n'
            f"  send a message (the simulated recipient answers a ping with a pong):\n"
            f'  curl -s {BASE_URL}/v1/messages -H "Authorization: Bearer {key}" '
            f"-H 'Content-Type: application/json' "
            f"""-d '{{"to": "+14155550199", "text": "ping"}}'\n""",
            flush=True,
        )
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"make run: {name} exited with {child.returncode}; stopping", flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
