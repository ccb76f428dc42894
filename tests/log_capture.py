"""Everything the stack logs during a test run goes to one directory; no secret may be in it.

`start` (pytest_configure, every process) points `SWITCHBOARD_LOG_DIR` at a directory of the
run, so the processes tests start (gunicorn, Celery workers, `make run`) write their log lines
there through their own configured handlers, and attaches the same handler
(`config.logging.log_dir_handler`) to this process's root logger at DEBUG, every logger
included. `finish` (pytest_sessionfinish of the controller, after every worker ended) greps
the directory for API keys, webhook secrets and device tokens and fails the run if it finds
one. The directory is kept when something was found (or when it was given), removed otherwise.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.logging import log_dir_handler

VARIABLE = "SWITCHBOARD_LOG_DIR"
ROOT = Path(__file__).resolve().parent.parent
# A secret as issued (accounts.services, webhooks.signing, handles.services): the prefix and
# at least 16 characters of its random part. `sk_live_AbCd` (a key's displayed prefix) and
# `sk_live_[redacted]` are not secrets.
SECRET_SHAPE = re.compile(r"(?:sk_live_|whsec_|sbd_)[A-Za-z0-9_\-+/=]{16,}")
_CREATED = "_switchboard_created_log_dir"


@dataclass(frozen=True)
class Finding:
    path: Path
    line_number: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}"


def find_secrets(directory: Path) -> list[Finding]:
    """Every line of every file under `directory` that holds a secret."""
    findings: list[Finding] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if SECRET_SHAPE.search(line):
                    findings.append(Finding(path, number))
    return findings


def current_log_dir() -> Path:
    return Path(os.environ[VARIABLE])


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def start(config: pytest.Config) -> None:
    if not os.environ.get(VARIABLE):
        # A worker inherits the controller's directory through its environment.
        parent = ROOT / "var" / "test-logs"
        parent.mkdir(parents=True, exist_ok=True)
        os.environ[VARIABLE] = tempfile.mkdtemp(prefix="run-", dir=parent)
        setattr(config, _CREATED, True)
    capture_everything()


def capture_everything() -> None:
    """This process's loggers at DEBUG into the run's directory; again before every test.

    Again, because `django.setup()` reapplies LOGGING each time it runs (Celery's Django
    fixup runs it when a test starts a worker in this process), which puts `django.request`
    back at ERROR and the root at WARNING: what a later test logs would go unchecked.
    """
    directory = os.environ[VARIABLE]
    root = logging.getLogger()
    if not any(getattr(h, "log_dir", None) == directory for h in root.handlers):
        root.addHandler(log_dir_handler(directory, name="pytest"))
    # DEBUG into the directory; what the console showed before, it still shows.
    for handler in root.handlers:
        if getattr(handler, "log_dir", None) is None:
            handler.setLevel(max(handler.level, root.getEffectiveLevel()))
    root.setLevel(logging.DEBUG)
    for name, logger in logging.root.manager.loggerDict.items():
        ours = name.startswith(("django", "celery", "switchboard", "gunicorn"))
        if ours and isinstance(logger, logging.Logger) and logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)
    # Except the template engine's: its DEBUG records carry a traceback whose text renders the
    # template's context, evaluating lazy objects (the user, the session) into queries that
    # tests count. It logs nothing a template does not already show.
    logging.getLogger("django.template").setLevel(logging.INFO)


def finish(session: pytest.Session) -> None:
    config = session.config
    if _is_worker(config) or not os.environ.get(VARIABLE):
        return
    for handler in logging.getLogger().handlers:
        handler.flush()
    directory = current_log_dir()
    findings = find_secrets(directory) if directory.exists() else []
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        files = [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []
        size = sum(p.stat().st_size for p in files)
        reporter.write_sep(
            "-",
            f"secrets check: {len(files)} log files ({size // 1024} KiB) from every process "
            f"of the run, {len(findings)} line(s) with a secret",
        )
    if findings:
        shown = "\n".join(f"  {finding}" for finding in findings[:20])
        message = (
            f"A secret (API key, webhook secret or device token) was logged during this run, "
            f"{len(findings)} line(s); the logs are kept in {directory}:\n{shown}"
        )
        if reporter is not None:
            reporter.write_sep("=", "secrets found in the logs", red=True)
            reporter.write_line(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif getattr(config, _CREATED, False):
        shutil.rmtree(directory, ignore_errors=True)
