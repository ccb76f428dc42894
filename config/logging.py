"""Structured logs: one JSON object a line, carrying the request id, never a secret.

Every handler of `LOGGING` (and gunicorn's, config/gunicorn.py) carries `RedactSecrets`: an
API key (`sk_live_…`), a webhook signing secret (`whsec_…`), a device token (`sbd_…`) or the
value of an Authorization header is replaced by `[redacted]` in the message, the extra fields
and the traceback before any handler writes the record. With `SWITCHBOARD_LOG_DIR` set, each
process also appends its log lines to a file of its own in that directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

# The prefixes of the secrets the platform issues (accounts.services.KEY_PREFIX,
# webhooks.signing.PREFIX, handles.selectors.DEVICE_TOKEN_PREFIX; a test holds them equal).
SECRET_PREFIXES = ("sk_live_", "whsec_", "sbd_")
_SECRET = re.compile(r"(?P<prefix>sk_live_|whsec_|sbd_)[A-Za-z0-9_\-+/=]+")
# `Authorization: Bearer x`, `'HTTP_AUTHORIZATION': 'Device x'`, `authorization=Basic x`
_AUTHORIZATION = re.compile(
    r"(?P<prefix>(?:HTTP_)?authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+", re.IGNORECASE
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with every secret and Authorization value replaced by `[redacted]`."""
    text = _AUTHORIZATION.sub(lambda m: m["prefix"] + REDACTED, text)
    return _SECRET.sub(lambda m: m["prefix"] + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Take secrets out of a record before a handler formats it (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_") and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        if record.exc_info or record.exc_text:
            # The filter's redacted text when there is one.
            entry["traceback"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, default=str)


def log_dir_handler(directory: str, *, name: str) -> logging.Handler:
    """A handler appending JSON lines to `<directory>/<name>-<pid>.log`, secrets redacted."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(
        Path(directory) / f"{name}-{os.getpid()}.log", encoding="utf-8", delay=True
    )
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    handler.log_dir = directory  # type: ignore[attr-defined]
    return handler


def logging_config(*, level: str, log_dir: str | None) -> dict[str, Any]:
    """Django's LOGGING: JSON lines on stderr (and in `log_dir`), secrets redacted."""
    handlers: dict[str, Any] = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["redact_secrets"],
        }
    }
    if log_dir:
        handlers["log_dir"] = {
            "()": "config.logging.log_dir_handler",
            "directory": log_dir,
            "name": "django",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
        "filters": {"redact_secrets": {"()": "config.logging.RedactSecrets"}},
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            # 5xx with their traceback; 4xx are the client's business, not an operator's.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
        },
    }
