"""The embedded `make run` and local development.

DEBUG stays off unless asked for (so errors keep their JSON shape); without SECRET_KEY a
random one is made once and kept in ./var/, so sessions survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_var = Path(os.environ.get("SWITCHBOARD_VAR_DIR", Path(__file__).resolve().parents[2] / "var"))
if not os.environ.get("SECRET_KEY"):
    _var.mkdir(parents=True, exist_ok=True)
    _secret_file = _var / "secret_key"
    if not _secret_file.exists():
        _secret_file.write_text(secrets.token_urlsafe(50))
        _secret_file.chmod(0o600)
    os.environ["SECRET_KEY"] = _secret_file.read_text().strip()

from .base import *  # noqa: E402, F403

# `make run` serves plain http on 127.0.0.1: a Secure cookie would never come back.
SESSION_COOKIE_SECURE = env_bool("SWITCHBOARD_SECURE_COOKIES", False)  # noqa: F405
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
