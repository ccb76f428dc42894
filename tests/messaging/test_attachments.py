"""Attachments: typed from their bytes, streamed, sent once, never another account's."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts import services as account_services
from messaging.models import Attachment, Message
from messaging.tasks import attachments_purge_unused
from tests.conftest import assert_error, attach_device, post_message
from tests.messaging.conftest import PNG, device_pushes, upload, wait_until
from tests.test_make_run import free_port

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def test_an_upload_is_stored_with_its_real_type_size_and_sha256(alice):
    response = upload(alice, "pixel.png", PNG)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["id"].startswith("att_")
    assert data["content_type"] == "image/png"
    assert data["size"] == len(PNG)
    assert data["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert data["message_id"] is None
    content = alice.client.get(f"/v1/attachments/{data['id']}/content")
    assert b"".join(content.streaming_content) == PNG
    assert content["Content-Type"] == "image/png"
    assert content["X-Content-Type-Options"] == "nosniff"


def test_a_file_named_png_that_is_html_is_stored_as_html(alice):
    data = upload(alice, "x.png", HTML).json()["data"]
    assert data["content_type"] == "text/html"
    assert alice.client.get(f"/v1/attachments/{data['id']}").json()["data"]["filename"] == "x.png"


def test_an_upload_without_a_file_is_invalid(alice):
    response = alice.client.post("/v1/attachments", {}, format="multipart")
    body = assert_error(response, 400, "invalid_request")
    assert "file" in body["fields"]


def test_an_upload_over_the_limit_is_refused_while_it_streams(alice, settings):
    settings.SWITCHBOARD_ATTACHMENT_MAX_BYTES = 1024
    assert_error(upload(alice, "big.bin", b"x" * 4096), 413, "payload_too_large")
    assert not Attachment.objects.exists()


@pytest.fixture
def gunicorn(transactional_db):
    """The production web server, on the test database (Django's test server drains bodies)."""
    db = connection.settings_dict
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=Path(__file__).resolve().parents[2],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_answers(port), what="gunicorn")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=20)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_a_101_mib_upload_is_refused_before_its_body_is_read(gunicorn):
    _, issued = account_services.account_create(name="Big")
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    conn.putrequest("POST", "/v1/attachments")
    conn.putheader("Authorization", f"Bearer {issued.secret}")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(101 * 1024 * 1024))
    conn.endheaders()  # and not one byte of the body
    response = conn.getresponse()
    assert response.status == 413
    assert b"payload_too_large" in response.read()
    assert not Attachment.objects.exists()


def send_attachments(tenant, attachment_ids, to="+14155550199"):
    return post_message(tenant, to=to, attachments=attachment_ids)


def test_an_attachment_is_sent_once(alice, online):
    attachment_id = upload(alice, "pixel.png", PNG).json()["data"]["id"]
    first = send_attachments(alice, [attachment_id])
    assert first.status_code == 202
    assert first.json()["data"]["attachments"][0]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert Attachment.objects.get(pk=attachment_id).message_id == first.json()["data"]["id"]
    assert_error(
        send_attachments(alice, [attachment_id], to="+14155550198"), 400, "invalid_attachments"
    )
    assert Message.objects.count() == 1


def test_another_accounts_attachment_is_invalid_and_not_found(alice, online, charlie):
    theirs = upload(charlie, "pixel.png", PNG).json()["data"]["id"]
    assert_error(send_attachments(alice, [theirs]), 400, "invalid_attachments")
    assert_error(alice.client.get(f"/v1/attachments/{theirs}"), 404, "not_found")
    assert_error(alice.client.get(f"/v1/attachments/{theirs}/content"), 404, "not_found")
    assert Attachment.objects.get(pk=theirs).message_id is None


@pytest.mark.django_db(transaction=True)
def test_two_messages_racing_for_one_attachment_one_wins(live_server):
    account, issued = account_services.account_create(name="Racers")
    attach_device(account, "+14155550123")
    headers = {"Authorization": f"Bearer {issued.secret}"}
    attachment_id = requests.post(
        f"{live_server.url}/v1/attachments",
        files={"file": ("a.png", PNG)},
        headers=headers,
        timeout=30,
    ).json()["data"]["id"]

    def race(n: int) -> int:
        return requests.post(
            f"{live_server.url}/v1/messages",
            json={"to": f"+1415555{2000 + n}", "attachments": [attachment_id]},
            headers=headers,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(race, range(6)))
    assert sorted(statuses) == [202] + [400] * 5
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_device_receives_the_bytes_it_was_asked_to_send(platform):
    _, device = platform.handle("+14155550123")
    content = PNG * 1000
    attachment_id = platform.client.post(
        "/v1/attachments", {"file": SimpleUploadedFile("p.png", content)}, format="multipart"
    ).json()["data"]["id"]
    message_id = send_attachments(platform, [attachment_id]).json()["data"]["id"]
    wait_until(lambda: Message.objects.filter(pk=message_id, status="read").exists(), what="read")
    assert device.downloads == {attachment_id: hashlib.sha256(content).hexdigest()}


def test_inbound_media_becomes_an_attachment_of_the_inbound_message(alice, online):
    uploaded = online.client.post(
        "/device/v1/attachments", {"file": SimpleUploadedFile("photo.png", PNG)}, format="multipart"
    )
    assert uploaded.status_code == 201, uploaded.content
    attachment_id = uploaded.json()["data"]["id"]
    device_pushes(
        online,
        {
            "id": "in-media",
            "type": "message.received",
            "data": {"from": "+14155550199", "text": "", "attachments": [attachment_id]},
        },
    )
    (message,) = alice.client.get("/v1/messages", {"direction": "inbound"}).json()["data"]
    assert [a["id"] for a in message["attachments"]] == [attachment_id]
    assert alice.client.get(f"/v1/attachments/{attachment_id}/content").status_code == 200


def test_unused_uploads_are_deleted_after_24_hours(alice, online):
    unused = upload(alice, "a.png", PNG).json()["data"]["id"]
    used = upload(alice, "b.png", PNG).json()["data"]["id"]
    send_attachments(alice, [used])
    path = Attachment.objects.get(pk=unused).file.path
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert attachments_purge_unused() == {"deleted": 1}
    assert list(Attachment.objects.values_list("id", flat=True)) == [used]
    assert not Path(path).exists()


def test_a_device_cannot_download_another_handles_attachment(alice, online, charlie_device):
    attachment_id = upload(alice, "pixel.png", PNG).json()["data"]["id"]
    send_attachments(alice, [attachment_id])
    assert online.client.get(f"/device/v1/attachments/{attachment_id}").status_code == 200
    response = charlie_device.client.get(f"/device/v1/attachments/{attachment_id}")
    assert_error(response, 404, "not_found")


def upload_once(tenant, key, content):
    return tenant.client.post(
        "/v1/attachments",
        {"file": SimpleUploadedFile("a.bin", content)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_retried_upload_is_replayed_by_its_bytes(alice):
    first = upload_once(alice, "up-1", b"A" * 2048)
    again = upload_once(alice, "up-1", b"A" * 2048)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Attachment.objects.count() == 1


def test_another_file_of_the_same_size_with_the_same_key_is_rejected(alice):
    upload_once(alice, "up-2", b"A" * 2048)
    assert_error(upload_once(alice, "up-2", b"B" * 2048), 422, "idempotency_key_reused")
    assert Attachment.objects.count() == 1
