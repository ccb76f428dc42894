"""Chunked request bodies (no Content-Length) are read, through the Procfile's own gunicorn.

Django reads a request without a Content-Length as empty; gunicorn undoes the chunking and
says where the body ends (`wsgi.input_terminated`), and `contract.limits` reads it from there
with the same limits as any body.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.models import ApiKey
from config.procfile import procfile_commands
from messaging.models import Attachment
from tests.conftest import assert_error
from tests.messaging.conftest import PNG

ROOT = Path(__file__).resolve().parent.parent.parent
BOUNDARY = "sb-chunked-boundary"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web(transactional_db: Any, tmp_path: Path) -> Iterator[int]:
    """The Procfile's `web` process (one worker) on this test's database; its port."""
    port = _free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SWITCHBOARD_VAR_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
    }
    argv = procfile_commands(env, python=sys.executable)["web"]
    with (tmp_path / "web.log").open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, (tmp_path / "web.log").read_text()
                time.sleep(0.2)
        else:
            raise AssertionError("gunicorn did not listen within 60 s")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def post_chunked(port: int, path: str, body: bytes, content_type: str, secret: str) -> Any:
    """POST `body` chunked, without a Content-Length: (status, headers, json body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Authorization", f"Bearer {secret}")
        conn.putheader("Content-Type", content_type)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for chunk in _chunks(body):
            conn.send(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


def test_a_chunked_json_body_is_read(web, alice):
    status, _, body = post_chunked(
        web, "/v1/api-keys", b'{"name": "streamed"}', "application/json", alice.key
    )
    assert status == 201, body
    assert body["data"]["name"] == "streamed"
    assert ApiKey.objects.filter(account=alice.account, name="streamed").exists()


def test_a_chunked_upload_is_stored(web, alice):
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    status, _, answer = post_chunked(
        web, "/v1/attachments", body, f"multipart/form-data; boundary={BOUNDARY}", alice.key
    )
    assert status == 201, answer
    assert answer["data"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert Attachment.objects.get(pk=answer["data"]["id"]).size == len(PNG)


def test_a_chunked_json_body_over_the_limit_is_payload_too_large(web, alice):
    oversized = json.dumps({"name": "x" * (1024 * 1024)}).encode()
    status, headers, body = post_chunked(
        web, "/v1/api-keys", oversized, "application/json", alice.key
    )
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert body["request_id"] == headers["X-Request-Id"]
    assert ApiKey.objects.filter(account=alice.account).count() == 1


def test_a_chunked_body_a_server_cannot_delimit_is_length_required(alice):
    # Django's test client, like the development server, does not mark where a chunked body
    # ends (`wsgi.input_terminated`): reading on could hang or read the next request.
    response = alice.client.generic(
        "POST",
        "/v1/api-keys",
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert_error(response, 411, "length_required")
