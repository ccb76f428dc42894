"""`make run`'s embedded platform starts with no services and its printed curl line works."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection

from config.embedded_broker import Transport as EmbeddedTransport

ROOT = Path(__file__).resolve().parent.parent
# The test process points these at PostgreSQL and Redis; the embedded run must not see them.
SERVICE_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    # The test worker's own metrics directory: `make run` empties the one it is given.
    "PROMETHEUS_MULTIPROC_DIR",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_embedded_platform_serves_the_printed_curl_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update({"SWITCHBOARD_VAR_DIR": str(tmp_path / "var"), "PORT": str(free_port())})
    env["SWITCHBOARD_METRICS_TOKEN"] = "embedded-metrics-token"
    runner = subprocess.Popen(
        [sys.executable, "scripts/run_embedded.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        curl_line = None
        deadline = time.monotonic() + 150  # a bound for a busy machine, not a speed
        assert runner.stdout is not None
        while time.monotonic() < deadline:
            line = runner.stdout.readline()
            if not line:
                break
            if line.startswith("curl "):
                curl_line = line.strip()
                break
        assert curl_line, "make run never printed its curl line"
        result = subprocess.run(
            [*shlex.split(curl_line), "-w", "\n%{http_code}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        body, status = result.stdout.rsplit("\n", 1)
        assert status == "200", body
        assert '"name":"Demo"' in body
        assert (tmp_path / "var" / "switchboard.sqlite3").exists()
        # /metrics as in production: the web workers' counts, added up (contract.metrics).
        base_url = curl_line.split()[2].rsplit("/v1/", 1)[0]
        metrics = subprocess.run(
            [
                "curl",
                "-s",
                f"{base_url}/metrics",
                "-H",
                "Authorization: Bearer embedded-metrics-token",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert (
            'switchboard_http_requests_total{method="GET",route="v1/account",status="200"} 1.0'
            in metrics
        ), metrics[-2000:]
        # The admin looks right on a fresh clone: its page names the product and its CSS is
        # served (WhiteNoise, from the apps' static folders: nothing was collected).
        login = subprocess.run(
            ["curl", "-s", f"{base_url}/admin/login/"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert "Switchboard operations" in login
        assert "/static/admin/css/base.css" in login
        status_and_type = ["-o", "/dev/null", "-w", "%{http_code} %{content_type}"]
        css = subprocess.run(
            ["curl", "-s", *status_and_type, f"{base_url}/static/admin/css/base.css"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert css.startswith("200 text/css"), css
        # The demo's device (the simulator) relays a message all the way on the embedded
        # database: sent, its receipts recorded, `read` in the end.
        authorization = shlex.split(curl_line)[4].removeprefix("Authorization: ")
        message_id = _api(base_url, "POST", "/v1/messages", authorization, ping=True)["id"]
        deadline = time.monotonic() + 90  # a bound for a busy machine, not a speed
        message_status = ""
        while time.monotonic() < deadline and message_status != "read":
            time.sleep(0.5)
            message = _api(base_url, "GET", f"/v1/messages/{message_id}", authorization)
            message_status = message["status"]
        assert message_status == "read"
    finally:
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=30) == 0


def test_a_worker_polling_the_embedded_broker_never_takes_a_half_written_message(tmp_path):
    # kombu's own file transport fails this within a few messages (celery/kombu#1551).
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
    }
    producer = Connection(transport=EmbeddedTransport, transport_options=options)
    consumer = Connection(transport=EmbeddedTransport, transport_options=options)
    outbox, inbox = producer.SimpleQueue("webhooks"), consumer.SimpleQueue("webhooks")
    sent = 1000
    received: list[int] = []
    errors: list[Exception] = []

    def consume() -> None:
        while len(received) < sent:
            try:
                message = inbox.get(block=False)
            except inbox.Empty:
                continue
            except Exception as exc:  # what would kill the worker
                errors.append(exc)
                return
            received.append(message.payload["n"])
            message.ack()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    for n in range(sent):
        outbox.put({"n": n, "padding": "x" * 2000})
    reader.join(timeout=60)
    assert errors == []
    assert sorted(received) == list(range(sent))


def _api(
    base_url: str, method: str, path: str, authorization: str, *, ping: bool = False
) -> dict[str, Any]:
    body = json.dumps({"to": "+14155550199", "text": "ping"}).encode() if ping else None
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=body,
        method=method,
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())["data"]
    return data
