"""The test suite: real PostgreSQL and Redis (DATABASE_URL / REDIS_URL, local defaults)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/switchboard")
# Each xdist worker gets its own Redis database, so a test may flush its cache freely. Set,
# not defaulted: workers inherit the environment of the controller that imported this too.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_redis_base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
_slot = int(_worker or 0) % 7
os.environ["REDIS_URL"] = f"{_redis_base}/{1 + _slot}"
os.environ.setdefault("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS", "true")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
# /metrics adds up the files of every process writing to this directory (contract.metrics):
# one per worker, so a test reads what its own worker's processes counted. Set before
# prometheus-client is imported, and inherited by the processes a test starts.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(
    Path(__file__).resolve().parents[2] / "var" / f"metrics-gw{_slot}"
)

from .base import *  # noqa: E402, F403
from .base import LOGGING  # noqa: E402

# The broker lives in its own database: a test flushing its cache must not eat queued tasks.
CELERY_BROKER_URL = f"{_redis_base}/{8 + _slot}"

# Tests borrow connections from the same pool as production (config/settings/base.py): a
# request, task or live-server thread gives its connection back when it ends. pytest-django's
# transactions work on a pooled connection like on any other.

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"
