"""Opt-outs through the whole platform: HTTP API, Celery worker, simulated device and person,
a real webhook receiver (issue 14's acceptance)."""

from __future__ import annotations

import json

import pytest
import requests

from accounts import services as account_services
from handles.models import Handle
from messaging.models import Message, OptOut
from messaging.services.dispatch import handle_dispatch
from tests.messaging.conftest import wait_until
from tests.webhooks import conftest as receivers
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db(transaction=True)
# A real local webhook receiver (the webhooks tests' fixtures).
receiver_factory = receivers.receiver_factory
receiver = receivers.receiver

THEM = "+14155550199"


def api(platform, method, path, body=None, key=None):
    return requests.request(
        method,
        f"{platform.base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {key or platform.key}"},
        timeout=30,
    )


def sent_to_device(device):
    return [job.payload["message_id"] for job in device.received if job.kind == "send"]


def events_of(hooks, event_type):
    return [json.loads(r.body)["data"] for r in hooks.bodies_of_type(event_type)]


def test_stop_opts_out_refuses_sends_fails_what_waits_and_start_opts_back_in(platform, receiver):
    webhook_services.webhook_endpoint_create(
        account=platform.account, url=receiver.url, events=["*"]
    )
    platform.account.opt_out_reply = "Unsubscribed. Reply START to resume."
    platform.account.save()
    handle, device = platform.handle("+14155550123")
    first = api(platform, "POST", "/v1/messages", {"to": THEM, "text": "hello"}).json()["data"]
    wait_until(lambda: first["id"] in sent_to_device(device), what="the first message")

    # Queued before the STOP, held back from the device (an operator's pause) until after it.
    Handle.objects.filter(pk=handle.pk).update(paused=True)
    waiting = api(platform, "POST", "/v1/messages", {"to": THEM, "text": "more"}).json()["data"]
    assert waiting["status"] == "queued"
    device.receive(THEM, "Stop")
    wait_until(lambda: events_of(receiver, "contact.opted_out"), what="contact.opted_out")
    (event,) = events_of(receiver, "contact.opted_out")
    stop = Message.objects.get(direction="inbound", text="Stop")
    assert (event["recipient"], event["source"], event["handle"], event["message_id"]) == (
        THEM,
        "keyword",
        handle.address,
        stop.pk,
    )
    held = api(platform, "GET", f"/v1/messages/{waiting['id']}").json()["data"]
    assert (held["status"], held["error"]["code"]) == ("failed", "recipient_opted_out")

    before = Message.objects.count()
    refused = api(platform, "POST", "/v1/messages", {"to": THEM, "text": "still there?"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "recipient_opted_out"
    assert Message.objects.count() == before

    Handle.objects.filter(pk=handle.pk).update(paused=False)
    handle_dispatch(handle_id=handle.pk)
    confirmation = Message.objects.get(direction="outbound", reply_to=stop)
    wait_until(lambda: confirmation.pk in sent_to_device(device), what="the confirmation")
    assert waiting["id"] not in sent_to_device(device)

    device.receive(THEM, "START")
    wait_until(lambda: events_of(receiver, "contact.opted_in"), what="contact.opted_in")
    again = api(platform, "POST", "/v1/messages", {"to": THEM, "text": "welcome back"})
    assert again.status_code == 202
    wait_until(lambda: again.json()["data"]["id"] in sent_to_device(device), what="sent again")
    assert waiting["id"] not in sent_to_device(device)


def test_api_opt_outs_behave_the_same_and_stay_within_their_account(platform, receiver):
    webhook_services.webhook_endpoint_create(
        account=platform.account, url=receiver.url, events=["contact.opted_out"]
    )
    other, issued = account_services.account_create(name="Other")
    platform.handle("+14155550123")
    added = api(platform, "POST", "/v1/opt-outs", {"recipient": THEM, "reason": "asked"})
    assert added.status_code == 201
    wait_until(lambda: events_of(receiver, "contact.opted_out"), what="contact.opted_out")
    assert events_of(receiver, "contact.opted_out")[0]["source"] == "api"
    assert api(platform, "POST", "/v1/messages", {"to": THEM, "text": "x"}).status_code == 409

    # The other account sees none of it, cannot remove it, and its own opt-out is its own.
    assert api(platform, "GET", "/v1/opt-outs", key=issued.secret).json()["data"] == []
    assert (
        api(platform, "DELETE", "/v1/opt-outs/%2B14155550199", key=issued.secret).status_code == 404
    )
    OptOut.objects.create(account=other, recipient="+14155550198", source="api")
    assert (
        api(platform, "POST", "/v1/messages", {"to": "+14155550198", "text": "x"}).status_code
        == 202
    )

    removed = api(platform, "DELETE", "/v1/opt-outs/%2B14155550199")
    assert removed.status_code == 200
    assert api(platform, "POST", "/v1/messages", {"to": THEM, "text": "x"}).status_code == 202
