"""gunicorn's settings for the web and agents processes (the Procfile: `gunicorn -c
config/gunicorn.py …`; `web` runs WSGI threads, `agents` gunicorn's asyncio ASGI worker).

The Procfile keeps the sizes (`--bind`, `--workers`, `--threads` from PORT, WEB_CONCURRENCY,
WEB_THREADS); this file holds what every deployment needs (docs/operations.md, "The web
server's edge"):

- Limits above the API's own: every request the API can legitimately receive reaches Django,
  which answers an over-long URI (414) or oversized headers (431) in the seed's error shape
  (contract.request_limits). gunicorn's limits only stop what no client of the API sends.
- What gunicorn still answers itself (a request line over 8,190 bytes, a header over 32 KiB,
  more than 100 headers, a malformed Content-Length, a broken request line or chunked body)
  is answered in the seed's shape too, with a request id in the body and `X-Request-Id`, by
  the WSGI workers and by the ASGI worker alike.
- The access log has no query string (a client may put a secret there by mistake) and no
  request header; every gunicorn log line goes through the same secret redaction as
  Django's, and into SWITCHBOARD_LOG_DIR when it is set.
"""

from __future__ import annotations

import json
import os
import socket
from http import HTTPStatus
from typing import Any

from gunicorn import glogging
from gunicorn import util as gunicorn_util
from gunicorn.asgi.protocol import ASGIProtocol

from config.logging import RedactSecrets, log_dir_handler
from contract.request_id import new_request_id

# The longest request line gunicorn accepts with a limit (its maximum; 0 would mean 1 MiB).
# Django refuses URIs over contract.request_limits.MAX_URI_BYTES (4 KiB) in the seed's shape.
limit_request_line = 8190
limit_request_fields = 100
# Per header line. Django refuses headers over contract.request_limits.MAX_HEADER_BYTES
# (16 KiB in total); this is twice that, so a single oversized header still reaches Django.
limit_request_field_size = 32 * 1024

# gunicorn 25+ opens a control socket at one fixed path per user ($HOME/.gunicorn/gunicorn.ctl):
# two gunicorns on one host (several instances, or the test suite's) would take it from each
# other. Nothing of ours uses `gunicornc`; workers are sized by the Procfile's variables.
control_socket_disable = True

accesslog = "-"
# Path without the query string, status, size, time in ms, the request id Django gave it.
access_log_format = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s "%(a)s"'
)

_MESSAGES = {
    414: "The request line is longer than 8190 bytes.",
    431: "The request headers are too large (a header line over 32 KiB, or over 100 headers).",
    501: "This Transfer-Encoding is not supported.",
}


def json_error_response(status: int, message: str) -> bytes:
    """An HTTP/1.1 response in the seed's error shape, with a fresh request id."""
    request_id = new_request_id()
    if status == 403:
        code = "forbidden"
    elif status >= 500 and status != 501:
        code = "internal_error"
    else:
        code = "invalid_request"
    body = json.dumps({"error": code, "message": message, "request_id": request_id}).encode()
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-Id: {request_id}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answers (malformed or oversized requests), in the seed's shape.

    The message is gunicorn's description of what was wrong, cut short: it may quote the
    request, and the request is the client's own. A 5xx says nothing more than the catalog.
    """
    if status_int >= 500 and status_int != 501:
        message = "Something went wrong on our side. Quote the request_id when reporting it."
    else:
        message = _MESSAGES.get(status_int) or f"Malformed HTTP request: {mesg}"[:300]
    gunicorn_util.write_nonblock(sock, json_error_response(status_int, message))


# gunicorn's workers call util.write_error for every answer they make themselves.
gunicorn_util.write_error = write_error


def _asgi_error_response(
    self: ASGIProtocol, status: int, message: str, extra_headers: Any = ()
) -> None:
    """The ASGI worker's own error answers (it parses HTTP itself), in the seed's shape."""
    if status >= 500 and status != 501:
        message = "Something went wrong on our side. Quote the request_id when reporting it."
    else:
        message = _MESSAGES.get(status) or f"Malformed HTTP request: {message}"[:300]
    response = json_error_response(status, message)
    if extra_headers:
        head, _, body = response.partition(b"\r\n\r\n")
        extra = "".join(f"\r\n{name}: {value}" for name, value in extra_headers)
        response = head + extra.encode("latin-1") + b"\r\n\r\n" + body
    self._safe_write(response)


ASGIProtocol._send_error_response = _asgi_error_response
# Django speaks no ASGI lifespan; the asyncio worker would try it and log the refusal.
asgi_lifespan = "off"


class Logger(glogging.Logger):
    """gunicorn's logger, with secrets redacted and a copy in SWITCHBOARD_LOG_DIR."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        log_dir = os.environ.get("SWITCHBOARD_LOG_DIR")
        # One file for the master and its workers (appends from several processes are whole
        # lines): gunicorn-<master pid>.log.
        to_dir = log_dir_handler(log_dir, name="gunicorn") if log_dir else None
        for log in (self.error_log, self.access_log):
            if to_dir is not None:
                for handler in [h for h in log.handlers if getattr(h, "log_dir", None)]:
                    log.removeHandler(handler)
                log.addHandler(to_dir)
            for handler in log.handlers:
                if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                    handler.addFilter(RedactSecrets())


logger_class = Logger


def on_starting(server: Any) -> None:
    """The master, before any worker: the files of processes gone since the last run leave
    /metrics' directory (contract.metrics); the running processes' stay."""
    from contract.metrics import metrics_directory_prepare  # lazy: only in gunicorn's master

    metrics_directory_prepare()


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: prometheus-client's bookkeeping for it (contract.metrics)."""
    from contract.metrics import process_dead  # lazy: only in gunicorn's master

    process_dead(worker.pid)
