"""The Procfile's processes as subprocesses of a test, on the test's database and Redis.

Tests that need real worker processes start the Procfile's own lines (read through
`config.procfile.procfile_commands`), so what they exercise is what production runs: the
same queues, pools and sizes, unless a test passes an environment that changes a size.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.db import connection

from config.celery import app as celery_app
from config.procfile import procfile_commands

ROOT = Path(__file__).resolve().parent.parent


def procfile_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """This test's environment for a Procfile process: its database, its Redis dbs
    (PYTEST_XDIST_WORKER is inherited) and a private var dir (beat's schedule file)."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SWITCHBOARD_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def worker_lines(env: Mapping[str, str]) -> dict[str, list[str]]:
    """The Procfile's Celery worker processes (not web, beat or release), as argv."""
    return {
        name: argv
        for name, argv in procfile_commands(env, python=sys.executable).items()
        if "celery" in argv and "worker" in argv
    }


def start(
    name: str, env: Mapping[str, str], log_dir: Path, *extra_args: str
) -> subprocess.Popen[bytes]:
    """Start the Procfile's process `name` (with `extra_args` appended, e.g. `-n other@%h`)
    in its own process group, logging to `log_dir/<name>.log`."""
    argv = [*procfile_commands(env, python=sys.executable)[name], *extra_args]
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for_workers(count: int, *, timeout: float = 60) -> list[str]:
    """Wait until `count` workers answer a ping on the test broker; their node names."""
    deadline = time.monotonic() + timeout
    names: list[str] = []
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(timeout=0.5) or []
        names = sorted(name for reply in replies for name in reply)
        if len(names) >= count:
            return names
        time.sleep(0.2)
    raise AssertionError(f"only {names} of {count} workers answered within {timeout:.0f} s")


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its children (a prefork pool dies with its parent, as when
    a machine or container dies)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(processes: Iterable[subprocess.Popen[bytes] | None], *, timeout: float = 20) -> None:
    """SIGTERM each (a warm shutdown), then SIGKILL what is still running after `timeout`."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill(process)
