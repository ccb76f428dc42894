"""What the fault tests send and what they watch: a burst from a well-behaved client, a
webhook receiver that counts every attempt, and what the database says at the end.

The client is what the seed asks of a good one: every POST has an `Idempotency-Key`, and a
503, a 429 or a connection that failed is retried with the same key (backing off), so the
platform may answer 503 while a service is down and still neither lose nor double a message.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import requests
from standardwebhooks import Webhook

RETRYABLE = frozenset({429, 503})
FINAL = ("read", "failed")


@dataclass
class Answer:
    """One HTTP answer the client got (or `status` 0: the connection failed)."""

    status: int
    at: float
    body: dict[str, Any] | None = None
    request_id_header: str | None = None


class Client:
    """POSTs with an Idempotency-Key; retries 503, 429 and lost connections with that key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {key}"}
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self.headers)
        return session

    def _record(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def post(self, path: str, body: dict[str, Any], *, give_up_after: float = 90) -> Any:
        """The 2xx body of POST `path`, retried until it comes (or `give_up_after` s)."""
        idempotency_key = uuid.uuid4().hex
        deadline = time.monotonic() + give_up_after
        delay = 0.1
        while True:
            try:
                response = self._session().post(
                    self.base_url + path,
                    json=body,
                    headers={"Idempotency-Key": idempotency_key},
                    timeout=30,
                )
            except requests.RequestException:
                self._record(Answer(0, time.monotonic()))
                self._local.session = None  # a fresh connection for the retry
            else:
                try:
                    payload = response.json()
                except ValueError:
                    payload = None
                self._record(
                    Answer(
                        response.status_code,
                        time.monotonic(),
                        payload,
                        response.headers.get("X-Request-Id"),
                    )
                )
                if response.status_code < 300:
                    return payload
                if response.status_code not in RETRYABLE:
                    raise AssertionError(f"POST {path}: {response.status_code} {payload}")
            if time.monotonic() > deadline:
                raise AssertionError(f"POST {path}: no success within {give_up_after} s")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A delivery worker killed mid-request resets its connection: that is the fault."""


@dataclass
class WebhookReceiver:
    """A real HTTP endpoint: verifies each signature, counts attempts per `webhook-id`."""

    secret: str = ""
    url: str = ""
    attempts: Counter[str] = field(default_factory=Counter)
    events: dict[str, str] = field(default_factory=dict)  # webhook-id -> event type
    bad_signatures: int = 0
    why_bad: list[str] = field(default_factory=list)
    abandoned: int = 0  # requests cut off before their body was complete
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender went away between its headers and its body (urllib3 sends
                    # them apart): a worker killed mid-request. Nothing arrived to verify.
                    with receiver._lock:
                        receiver.abandoned += 1
                    self.close_connection = True
                    return
                verified = receiver.receive(dict(self.headers), body)
                self.send_response(200 if verified else 400)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        return self

    def receive(self, headers: dict[str, str], body: bytes) -> bool:
        """Count a complete request whose signature verifies; False for one that does not."""
        lowered = {k.lower(): v for k, v in headers.items()}
        webhook_id = lowered.get("webhook-id", "")
        try:
            event = Webhook(self.secret).verify(body, lowered)
        except Exception as exc:
            with self._lock:
                self.bad_signatures += 1
                self.why_bad.append(f"{webhook_id}: {type(exc).__name__}: {exc}")
            return False
        with self._lock:
            self.attempts[webhook_id] += 1
            self.events[webhook_id] = event["type"]
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class Burst:
    """The messages a burst sent, and when."""

    ids: list[str]
    seconds_to_accept: float


def send_burst(
    client: Client, handles: list[str], *, count: int, first_number: int, threads: int = 8
) -> Burst:
    """`count` messages spread over `handles`, from `threads` clients at once."""

    def one(n: int) -> str:
        payload = client.post(
            "/v1/messages",
            {
                "from_handle": handles[n % len(handles)],
                "to": f"+1415{first_number + n:07d}",
                "text": f"burst message #{n}",
            },
        )
        return str(payload["data"]["id"])

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(one, range(count)))
    return Burst(ids=ids, seconds_to_accept=time.monotonic() - started)


class Ledger:
    """What the private database says about an account: read straight from PostgreSQL."""

    def __init__(self, database_url: str, account_id: str) -> None:
        self.database_url = database_url
        self.account_id = account_id

    def _rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return list(conn.execute(sql, params).fetchall())

    def statuses(self, ids: list[str]) -> Counter[str]:
        rows = self._rows(
            "SELECT status, count(*) FROM messaging_message WHERE id = ANY(%s) GROUP BY status",
            ids,
        )
        return Counter({status: n for status, n in rows})

    def outbound_count(self) -> int:
        rows = self._rows(
            "SELECT count(*) FROM messaging_message WHERE account_id = %s AND direction = %s",
            self.account_id,
            "outbound",
        )
        return int(rows[0][0])

    def deliveries(self) -> dict[str, str]:
        """Every delivery of the account's events (one endpoint): its event id, which is
        the `webhook-id` of every attempt, -> its status."""
        rows = self._rows(
            "SELECT d.event_id, d.status FROM webhooks_webhookdelivery d "
            "JOIN webhooks_event e ON e.id = d.event_id WHERE e.account_id = %s",
            self.account_id,
        )
        return dict(rows)

    def events_without_deliveries(self) -> int:
        rows = self._rows(
            "SELECT count(*) FROM webhooks_event e WHERE e.account_id = %s "
            "AND NOT EXISTS (SELECT 1 FROM webhooks_webhookdelivery d WHERE d.event_id = e.id)",
            self.account_id,
        )
        return int(rows[0][0])


def drained(ledger: Ledger, receiver: WebhookReceiver, ids: list[str]) -> bool:
    """Every message final, every event fanned out, every delivery received."""
    statuses = ledger.statuses(ids)
    if sum(statuses[s] for s in FINAL) != len(ids):
        return False
    if ledger.events_without_deliveries():
        return False
    deliveries = ledger.deliveries()
    return set(deliveries) <= set(receiver.attempts) and all(
        s == "succeeded" for s in deliveries.values()
    )


FIGURES_DIR = Path(__file__).resolve().parents[2] / "var" / "faults"


def print_figures(name: str, figures: dict[str, Any]) -> None:
    """One line to quote: printed (pytest -s) and kept for the run's summary (conftest.py)."""
    line = f"FAULT {name}: " + json.dumps(figures, sort_keys=False)
    print("\n" + line, flush=True)
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    (FIGURES_DIR / f"{name.replace(' ', '-')}.txt").write_text(line + "\n")
