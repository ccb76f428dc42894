"""The web process as the Procfile starts it: what reaches Django, what gunicorn answers itself.

A real gunicorn from the Procfile's `web` line (production settings, the test database, a
fresh STATIC_ROOT), spoken to over raw sockets: oversized and malformed requests get the
seed's error shape with a request id whoever answers them, admin static files are served,
HSTS is sent behind a TLS proxy, and the access log holds no secret.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.procfile import procfile_commands
from tests import log_capture

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        return json.loads(self.body)


@dataclass
class WebServer:
    port: int
    log_dir: Path
    output: Path

    def send(self, raw: bytes) -> RawResponse:
        """Send `raw` as is; read the answer as an HTTP client does (chunked or not)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(raw)
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return RawResponse(response.status, headers, body)

    def get(self, target: str, *headers: str) -> RawResponse:
        lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def logged(self) -> str:
        """Everything the web process wrote: its output and its files in its log directory."""
        texts = [self.output.read_text(errors="replace")]
        texts += [p.read_text(errors="replace") for p in self.log_dir.glob("*.log")]
        return "\n".join(texts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    return (
        f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


@pytest.fixture(scope="module")
def web(django_db_setup, tmp_path_factory) -> Iterator[WebServer]:
    base = tmp_path_factory.mktemp("web")
    log_dir = log_capture.current_log_dir() / f"web-edge-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url(),
        "STATIC_ROOT": str(base / "static"),  # fresh and empty: nothing was collected
        "SWITCHBOARD_LOG_DIR": str(log_dir),
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
    }
    output = base / "output.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            procfile_commands(env, python=sys.executable)["web"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = WebServer(port=int(env["PORT"]), log_dir=log_dir, output=output)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, output.read_text()
            try:
                server.get("/v1/account")
                break
            except OSError:
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def assert_seed_error(response: RawResponse, status: int, code: str) -> dict[str, object]:
    assert response.status == status, response.body
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message", "request_id"}, body
    assert body["error"] == code
    assert str(body["request_id"]).startswith("req_")
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_an_ordinary_request_reaches_django(web):
    assert_seed_error(web.get("/v1/account"), 401, "unauthorized")


def test_a_5000_byte_request_line_reaches_django_and_gets_414(web):
    response = web.get("/v1/messages?cursor=" + "a" * 5000)
    body = assert_seed_error(response, 414, "invalid_request")
    assert "4096" in str(body["message"])


def test_a_request_line_over_gunicorns_limit_gets_414_in_the_seed_shape(web):
    assert_seed_error(web.get("/v1/messages?cursor=" + "a" * 9000), 414, "invalid_request")


def test_a_20k_header_reaches_django_and_gets_431(web):
    response = web.get("/v1/account", "X-Padding: " + "p" * 20_000)
    body = assert_seed_error(response, 431, "invalid_request")
    assert "16384" in str(body["message"])


def test_a_100k_character_header_gets_431_in_the_seed_shape(web):
    response = web.get("/v1/account", "X-Padding: " + "p" * 100_000)
    assert_seed_error(response, 431, "invalid_request")


def test_a_content_length_that_is_not_a_number_gets_400_in_the_seed_shape(web):
    raw = (
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: abc\r\nConnection: close\r\n\r\n{}"
    )
    body = assert_seed_error(web.send(raw), 400, "invalid_request")
    assert "CONTENT-LENGTH" in str(body["message"]).upper()


def test_admin_static_files_are_served_without_collectstatic(web):
    response = web.get("/static/admin/css/base.css")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/css")
    assert b"body" in response.body


def test_https_through_the_proxy_gets_hsts_and_plain_http_does_not(web):
    secure = web.get("/v1/account", "X-Forwarded-Proto: https")
    plain = web.get("/v1/account")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in plain.headers


def test_the_access_log_has_neither_the_authorization_header_nor_the_query_string(web):
    key_in_header = "sk_live_" + "H" * 32
    key_in_query = "sk_live_" + "Q" * 32
    marker = f"/v1/account-marker-{os.getpid()}"
    web.get(f"{marker}?api_key={key_in_query}", f"Authorization: Bearer {key_in_header}")
    deadline = time.monotonic() + 10
    while marker not in web.logged():
        assert time.monotonic() < deadline, "the request never reached the access log"
        time.sleep(0.2)
    logged = web.logged()
    assert key_in_header not in logged
    assert key_in_query not in logged
    assert "api_key" not in logged
