"""GET /v1/handles, /v1/handles/{handle} and /v1/lookup."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from handles import services
from handles.models import Handle, HandleStatusChange
from handles.tasks import handles_mark_offline
from tests.conftest import assert_error
from webhooks.models import Event


def heartbeat(device_of):
    return device_of.client.post(
        "/device/v1/heartbeat", {"channels": ["imessage", "sms"]}, format="json"
    )


def test_a_handle_with_a_fresh_device_is_online(alice, alice_device):
    heartbeat(alice_device)
    data = alice.client.get("/v1/handles").json()["data"]
    assert len(data) == 1
    assert data[0]["handle"] == "+14155550123"
    assert data[0]["status"] == "online"
    assert data[0]["channels"] == ["imessage", "sms"]
    assert data[0]["pacing"] == {"per_minute": 60, "burst": 5}
    assert data[0]["queue_depth"] == 0
    assert data[0]["last_seen_at"].endswith("Z")


def test_a_handle_whose_device_never_called_is_offline(alice):
    services.handle_assign(account=alice.account, address="+14155550123")
    data = alice.client.get("/v1/handles/+14155550123").json()["data"]
    assert data["status"] == "offline"
    assert data["last_seen_at"] is None


def test_a_handle_goes_offline_after_60_quiet_seconds_and_back_on_the_next_call(
    alice, alice_device
):
    heartbeat(alice_device)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert alice.client.get("/v1/handles/+14155550123").json()["data"]["status"] == "offline"
        assert handles_mark_offline() == {"offline": 1}
        assert handles_mark_offline() == {"offline": 0}
        heartbeat(alice_device)
        assert alice.client.get("/v1/handles/+14155550123").json()["data"]["status"] == "online"
    history = list(
        HandleStatusChange.objects.filter(handle=alice_device.handle)
        .order_by("at")
        .values_list("status", flat=True)
    )
    assert history == ["online", "offline", "online"]
    events = list(
        Event.objects.filter(account=alice.account)
        .order_by("created_at")
        .values_list("type", flat=True)
    )
    assert events == ["handle.online", "handle.offline", "handle.online"]


def test_a_handle_stays_online_while_its_device_calls(alice, alice_device):
    heartbeat(alice_device)
    with time_machine.travel(timezone.now() + timedelta(seconds=45)):
        heartbeat(alice_device)
    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        assert handles_mark_offline() == {"offline": 0}
        assert alice.client.get("/v1/handles/+14155550123").json()["data"]["status"] == "online"


def test_queue_depth_counts_jobs_waiting_for_the_device(alice, alice_device):
    for _ in range(3):
        services.job_create(handle=alice_device.handle, kind="send", payload={})
    assert alice.client.get("/v1/handles/+14155550123").json()["data"]["queue_depth"] == 3


def test_another_accounts_handle_is_not_found(alice, charlie_device):
    assert_error(alice.client.get("/v1/handles/+14155550177"), 404, "not_found")
    assert_error(alice.client.get("/v1/handles/+14155550188"), 404, "not_found")


def test_the_list_never_shows_another_accounts_handles(alice, alice_device, charlie_device):
    handles = [h["handle"] for h in alice.client.get("/v1/handles").json()["data"]]
    assert handles == ["+14155550123"]


def test_an_invalid_handle_in_the_path_is_invalid_handle(alice):
    assert_error(alice.client.get("/v1/handles/12345"), 400, "invalid_handle")


def test_lookup_of_an_unchecked_recipient_is_null_not_a_guess(alice):
    data = alice.client.get("/v1/lookup", {"handle": "+14155550199"}).json()["data"]
    assert data == {
        "handle": "+14155550199",
        "imessage": None,
        "whatsapp": None,
        "checked_at": None,
    }


def test_lookup_shows_what_a_device_reported(alice, alice_device):
    alice_device.client.post(
        "/device/v1/events",
        {
            "events": [
                {
                    "id": "cap-1",
                    "type": "recipient.capability",
                    "data": {"handle": "Friend@Example.com", "imessage": True},
                }
            ]
        },
        format="json",
    )
    data = alice.client.get("/v1/lookup", {"handle": "friend@example.com"}).json()["data"]
    assert data["imessage"] is True
    assert data["whatsapp"] is None
    assert data["checked_at"].endswith("Z")


def test_lookup_never_shows_what_another_accounts_devices_learned(alice, charlie_device):
    charlie_device.client.post(
        "/device/v1/events",
        {
            "events": [
                {
                    "id": "cap-1",
                    "type": "recipient.capability",
                    "data": {"handle": "+14155550199", "imessage": True, "whatsapp": True},
                }
            ]
        },
        format="json",
    )
    data = alice.client.get("/v1/lookup", {"handle": "+14155550199"}).json()["data"]
    assert data["imessage"] is None


def test_lookup_accepts_an_unescaped_plus(alice):
    response = alice.client.get("/v1/lookup?handle=+14155550199")
    assert response.json()["data"]["handle"] == "+14155550199"


@pytest.mark.parametrize(
    "bad", ["+1", "12345", "+1415555012a", "not-an-email", "a@b", "x" * 300, ""]
)
def test_lookup_of_a_bad_handle_is_invalid_handle(alice, bad):
    assert_error(alice.client.get("/v1/lookup", {"handle": bad}), 400, "invalid_handle")


def test_lookup_without_a_handle_is_invalid_request(alice):
    body = assert_error(alice.client.get("/v1/lookup"), 400, "invalid_request")
    assert "handle" in body["fields"]


def test_assigning_a_handle_of_another_account_is_refused(alice, charlie_device):
    from contract.errors import DomainError

    with pytest.raises(DomainError) as error:
        services.handle_assign(account=alice.account, address="+14155550177")
    assert error.value.code == "conflict"
    assert Handle.objects.get(address="+14155550177").account_id == charlie_device.handle.account_id
