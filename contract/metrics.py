"""What processes observe for /metrics: counters and histograms every process shares.

Each observation is a few microseconds in the process where the transition happens (an
increment in a memory-mapped file, prometheus-client's multiprocess mode): never a query,
never a Redis call. Every web worker, Celery process and the ASGI agents write files of their
own in one directory, PROMETHEUS_MULTIPROC_DIR, and a scrape of any web worker adds them up,
so /metrics answers the same whichever worker takes it. What the database already knows
(queue depths, devices online) is not observed here: the /metrics view reads it at scrape
time (monitoring.metrics), the same for every process (docs/operations.md, "Metrics").

The directory must be set before prometheus-client is imported, hence at the top of this
module: PROMETHEUS_MULTIPROC_DIR if the environment names one, else ./var/metrics (under
SWITCHBOARD_VAR_DIR). `metrics_directory_prepare` empties it of a previous run's files when a
host's processes start; `process_dead` is called when a worker exits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_VAR_DIR = Path(
    os.environ.get("SWITCHBOARD_VAR_DIR") or Path(__file__).resolve().parent.parent / "var"
)
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_VAR_DIR / "metrics"))
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
METRICS_DIR.mkdir(parents=True, exist_ok=True)

from django.http import HttpRequest, HttpResponse  # noqa: E402
from prometheus_client import Counter, Histogram, multiprocess  # noqa: E402

# Seconds; from a paced handle's next slot (a second or two) to a backlog of an hour.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600)
WEBHOOK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30)

MESSAGES = Counter(
    "switchboard_messages",
    "Messages reaching a status (created queued, scheduled or received; then each transition).",
    ["status", "channel"],
)
DISPATCH_LATENCY = Histogram(
    "switchboard_message_dispatch_seconds",
    "From a message's place in the queue (queued_at) to its device reporting it sent.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
DELIVERY_LATENCY = Histogram(
    "switchboard_message_delivery_seconds",
    "From sent to delivered, as the device reported both.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_ATTEMPTS = Counter(
    "switchboard_webhook_attempts",
    "POSTs to webhook endpoints, by result: succeeded (2xx), http_4xx, http_5xx, gone (410), "
    "error (no answer: refused, timed out, TLS).",
    ["result"],
)
WEBHOOK_LATENCY = Histogram(
    "switchboard_webhook_attempt_seconds",
    "How long a webhook POST took, by result.",
    ["result"],
    buckets=WEBHOOK_BUCKETS,
)
SYNC_ACTIONS = Counter(
    "switchboard_sync_actions",
    "Synchronous device actions (edit, react, unsend, typing, read, group updates) by kind and "
    "outcome: succeeded, failed (the device said so), timeout, offline.",
    ["kind", "outcome"],
)
_STATIC_PREFIX = "/static/"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_REQUESTS = Counter(
    "switchboard_http_requests",
    "HTTP requests answered by Django, by route pattern, method and status.",
    ["route", "method", "status"],
)


# Each labelled child once per process: `labels()` takes a lock and builds its key on every
# call (4.4-4.8 µs a request measured here); a dict lookup and the increment take 2.5 µs.
_children: dict[tuple[object, ...], Any] = {}


def _child(metric: Counter | Histogram, *labels: object) -> Any:
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(*labels))
    return child


def metrics_directory_prepare() -> int:
    """Empty the directory of a previous run's files as a host's processes start (gunicorn's
    masters, Celery workers, beat); return how many were removed.

    Only when none of the processes that wrote there is still running: while a run is under
    way, the files of its processes that exited stay, for a counter that lost them would go
    down, which Prometheus reads as a reset (a false spike in `rate()`) (docs/operations.md).
    """
    me = os.getpid()
    files = [(path, _pid_of(path)) for path in METRICS_DIR.glob("*.db")]
    if any(pid is not None and pid != me and _alive(pid) for _, pid in files):
        return 0
    removed = 0
    for path, pid in files:
        if pid is not None and pid != me:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _pid_of(path: Path) -> int | None:
    """The process a metrics file is of (`counter_1234.db`), None for any other file."""
    pid = path.stem.rpartition("_")[2]
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_dead(pid: int) -> None:
    """prometheus-client's bookkeeping for a worker that exited (its live gauges go)."""
    multiprocess.mark_process_dead(pid, str(METRICS_DIR))


def messages_observe(
    observations: Iterable[tuple[str, str, float | None, float | None]],
) -> None:
    """Count messages reaching a status, with their queued->sent and sent->delivered times.

    Each observation is (status, channel, dispatch seconds or None, delivery seconds or None).
    """
    for status, channel, dispatch_seconds, delivery_seconds in observations:
        _child(MESSAGES, status, channel).inc()
        if dispatch_seconds is not None:
            _child(DISPATCH_LATENCY, channel).observe(max(0.0, dispatch_seconds))
        if delivery_seconds is not None:
            _child(DELIVERY_LATENCY, channel).observe(max(0.0, delivery_seconds))


def webhook_result(status_code: int | None) -> str:
    """The `result` label of an attempt that got `status_code` (None: no answer)."""
    if status_code is None:
        return "error"
    if 200 <= status_code < 300:
        return "succeeded"
    if status_code == 410:
        return "gone"
    return "http_4xx" if status_code < 500 else "http_5xx"


def webhook_attempts_observe(attempts: Iterable[tuple[int | None, float]]) -> None:
    """Count webhook attempts, each (status code or None, seconds it took)."""
    for status_code, seconds in attempts:
        result = webhook_result(status_code)
        _child(WEBHOOK_ATTEMPTS, result).inc()
        _child(WEBHOOK_LATENCY, result).observe(seconds)


def sync_action_observe(*, kind: str, outcome: str) -> None:
    _child(SYNC_ACTIONS, kind, outcome).inc()


class RequestMetricsMiddleware:
    """Count every request Django answers by its route pattern (never the raw path: an id in
    a path would make a series per object), method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and match.route:
            route = match.route
        else:  # WhiteNoise answers static files before any URL is resolved
            route = "static" if request.path.startswith(_STATIC_PREFIX) else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        _child(HTTP_REQUESTS, route, method, response.status_code).inc()
        return response
