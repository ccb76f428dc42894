"""The whole pipeline for real: HTTP API, Celery worker, device protocol, simulator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from messaging.models import Message
from tests.messaging.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def post(platform, body, **headers):
    return requests.post(
        f"{platform.base_url}/v1/messages",
        json=body,
        headers={"Authorization": f"Bearer {platform.key}", **headers},
        timeout=30,
    )


def get_message(platform, message_id):
    response = requests.get(
        f"{platform.base_url}/v1/messages/{message_id}",
        headers={"Authorization": f"Bearer {platform.key}"},
        timeout=30,
    )
    return response.json()["data"]


def test_a_message_is_sent_delivered_and_read_end_to_end(platform):
    _, device = platform.handle("+14155550123")
    response = post(platform, {"to": "+14155550199", "text": "hello"})
    assert response.status_code == 202
    message = response.json()["data"]
    assert message["status"] == "queued"
    wait_until(lambda: get_message(platform, message["id"])["status"] == "read", what="read")
    data = get_message(platform, message["id"])
    assert [h["status"] for h in data["status_history"]] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "read",
    ]
    times = [h["at"] for h in data["status_history"]]
    assert times == sorted(times)
    assert [job.payload["message_id"] for job in device.received] == [message["id"]]


def test_a_recipient_not_on_imessage_is_resent_as_sms(platform):
    _, device = platform.handle("+14155550123")
    message = post(platform, {"to": "+14155550000", "text": "hi"}).json()["data"]
    wait_until(lambda: get_message(platform, message["id"])["status"] == "read", what="read")
    data = get_message(platform, message["id"])
    assert data["channel"] == "sms"
    assert any("not_registered" in h["detail"] for h in data["status_history"])
    assert [job.payload["channel"] for job in device.received] == ["imessage", "sms"]


def test_without_fallback_a_recipient_not_on_imessage_fails(platform):
    platform.handle("+14155550123")
    message = post(
        platform, {"to": "+14155550000", "text": "hi", "channel": "imessage", "fallback": False}
    ).json()["data"]
    wait_until(lambda: get_message(platform, message["id"])["status"] == "failed", what="failure")
    assert get_message(platform, message["id"])["error"]["code"] == "not_registered"


def test_a_ping_gets_a_pong_back(platform):
    platform.handle("+14155550123")
    message = post(platform, {"to": "+14155550199", "text": "ping"}).json()["data"]

    def pong_arrived() -> bool:
        return Message.objects.filter(
            chat_id=message["chat_id"], direction="inbound", text="pong"
        ).exists()

    wait_until(pong_arrived, what="the pong")


def test_one_idempotency_key_sent_concurrently_makes_one_message(platform):
    platform.handle("+14155550123")
    body = {"to": "+14155550199", "text": "exactly once"}
    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(
            pool.map(lambda _: post(platform, body, **{"Idempotency-Key": "once-1"}), range(5))
        )
    assert {r.status_code for r in responses} <= {202, 409}
    ids = {r.json()["data"]["id"] for r in responses if r.status_code == 202}
    assert len(ids) == 1
    retried = post(platform, body, **{"Idempotency-Key": "once-1"})
    assert retried.json()["data"]["id"] in ids
    assert Message.objects.count() == 1
