"""A whole Switchboard on services of its own: a private PostgreSQL and Redis, the Procfile's
processes, so a test can kill, stop and restart any of them without touching the machine's
shared PostgreSQL (5432) and Redis (6379) or another test's processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from config.procfile import procfile_commands

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("SWITCHBOARD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, every: float = 0.1) -> float:
    """Poll `check` until true; return the seconds it took, fail after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except Exception:  # noqa: S110 - not up yet is what we are waiting out
            pass
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout} s")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateRedis:
    """`redis-server` on a free port, nothing saved: a restart loses every key."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: _port_open(self.port), timeout=20, what="private redis")

    def stop(self) -> None:
        """Kill it (SIGKILL: nothing flushed, nothing saved), as a crashed host would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb + pg_ctl) on a free port, run as `postgres`.

    initdb refuses to run as root, so as root (CI) the binaries run through `runuser`."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.datadir = workdir / "pgdata"
        self.logfile = workdir / "postgres.log"
        self.sockdir = workdir / "pgsock"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/switchboard"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=timeout, capture_output=True)

    def init(self) -> None:
        for path in (self.datadir, self.sockdir):
            path.mkdir(parents=True)
        self.logfile.touch()
        if os.geteuid() == 0:
            for path in (self.datadir.parent, self.datadir, self.sockdir, self.logfile):
                shutil.chown(path, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "switchboard")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockdir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-o", options,
                  "-w", "start")  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: every session is cut, as on a failover or a restart for an upgrade."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")


@dataclass
class Process:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    restarts: int = 0


@dataclass
class Stack:
    """The Procfile's processes (all but `release`) against the private services."""

    workdir: Path
    env: dict[str, str]
    base_url: str
    # Where devices talk to (the `agents` process), as a load balancer routes /device/.
    agents_url: str
    processes: dict[str, Process] = field(default_factory=dict)

    def start(self, name: str) -> None:
        proc = self.processes[name]
        proc.log = proc.log or open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115
        proc.process = subprocess.Popen(
            proc.argv,
            cwd=ROOT,
            env=self.env,
            stdout=proc.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killing it kills its children
        )

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children (a pool's processes), as the OOM killer or a
        lost host would: nothing runs its shutdown."""
        proc = self.processes[name]
        assert proc.process is not None
        os.killpg(proc.process.pid, signal.SIGKILL)
        proc.process.wait(timeout=10)

    def restart(self, name: str) -> None:
        """What a supervisor does when the process died."""
        self.processes[name].restarts += 1
        self.start(name)

    def workers(self) -> list[str]:
        return [n for n, p in self.processes.items() if "worker" in p.argv]

    def last_words(self, name: str, lines: int = 40) -> str:
        """The end of a process's log: why it died, for the assertion that says it did."""
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return f"({name}: no log)"
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last {len(tail)} lines of {name}.log ---\n" + "\n".join(tail)

    def dead(self) -> list[str]:
        """The processes that exited on their own (none should: each must ride out a fault)."""
        return [n for n, p in self.processes.items() if p.process and p.process.poll() is not None]

    def stop_all(self) -> None:
        for proc in self.processes.values():
            if proc.process is not None and proc.process.poll() is None:
                os.killpg(proc.process.pid, signal.SIGTERM)
        for proc in self.processes.values():
            if proc.process is None:
                continue
            try:
                proc.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.process.pid, signal.SIGKILL)
                proc.process.wait(timeout=10)
            if proc.log is not None:
                proc.log.close()

    def manage(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def ready(self) -> bool:
        return requests.get(self.base_url + "/readyz", timeout=5).status_code == 200


def stack_env(
    *, workdir: Path, database_url: str, redis_url: str, port: int, agents_port: int
) -> dict[str, str]:
    """Production settings, small sizes for a 2-core machine, nothing from the test's env."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO", "DATABASE", "REDIS", "SWITCHBOARD", "CELERY"))
        # …but where the run collects every process's logs, for the secrets check.
        or k == "SWITCHBOARD_LOG_DIR"
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "faults-test-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS": "true",
        "SWITCHBOARD_VAR_DIR": str(workdir / "var"),
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "AGENTS_PORT": str(agents_port),
        # Small, for a 2-core machine shared with the rest of the suite; threads enough for
        # the ten devices' long polls beside the clients.
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "24",
        "PYTHONUNBUFFERED": "1",
    }


def build_stack(workdir: Path, *, database_url: str, redis_url: str) -> Stack:
    port, agents_port = free_port(), free_port()
    env = stack_env(
        workdir=workdir,
        database_url=database_url,
        redis_url=redis_url,
        port=port,
        agents_port=agents_port,
    )
    stack = Stack(
        workdir=workdir,
        env=env,
        base_url=f"http://127.0.0.1:{port}",
        agents_url=f"http://127.0.0.1:{agents_port}",
    )
    for name, argv in procfile_commands(env, python=sys.executable).items():
        if name != "release":
            stack.processes[name] = Process(name=name, argv=argv)
    return stack


def make_workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="switchboard-faults-"))
    path.chmod(0o755)
    return path


PROVISION = """
import json, sys
from accounts import services as accounts
from handles import services as handles
spec = json.loads(sys.stdin.read())
account, issued = accounts.account_create(name=spec["name"])
accounts.account_set_rate_limit(account=account, per_minute=spec["rate_limit"])
devices = []
for address in spec["handles"]:
    handle = handles.handle_assign(
        account=account, address=address, per_minute=spec["per_minute"], burst=spec["burst"],
        new_contact_budget=None,
    )
    devices.append({"handle": address, "token": handles.device_attach(
        handle=handle, simulated=True).token})
print(json.dumps({"account_id": account.pk, "key": issued.secret, "devices": devices}))
"""


def provision(stack: Stack, spec: Mapping[str, Any]) -> dict[str, Any]:
    """An account with handles and devices, made by the operator's own services."""
    out = stack.manage("shell", "-c", PROVISION, stdin=json.dumps(spec))
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result
