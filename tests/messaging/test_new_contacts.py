"""New-contact budgets: the rules, through the API, without workers (docs/compliance.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine
from django.utils import timezone

from handles.models import Handle
from messaging.models import HandleContact, Message, MessageStatusEvent
from messaging.services import new_contacts, releasing
from messaging.services.dispatch import messages_sweep
from tests.conftest import attach_device, post_message, send
from tests.messaging.conftest import device_pushes

NEW = [f"+1415555{n:04d}" for n in range(1000, 1010)]


def budget(handle: Handle, value: int | None) -> None:
    handle.new_contact_budget = value
    handle.save(update_fields=["new_contact_budget"])


def status_of(data: dict[str, Any]) -> tuple[str, str | None]:
    message = Message.objects.get(pk=data["id"])
    return str(message.status), message.status_reason or None


def test_a_send_to_a_new_recipient_takes_a_slot_and_says_what_is_left(alice, alice_device):
    response = post_message(alice, to=NEW[0], text="hello")
    assert response.status_code == 202
    assert response["X-New-Contacts-Remaining"] == "49"
    assert response.json()["data"]["reason"] is None
    contact = HandleContact.objects.get(handle=alice_device.handle, address=NEW[0])
    assert contact.budget_used_at is not None


def test_a_send_to_a_known_recipient_takes_no_slot(alice, alice_device):
    send(alice, to=NEW[0], text="first")
    response = post_message(alice, to=NEW[0], text="again")
    assert response["X-New-Contacts-Remaining"] == "49"
    assert HandleContact.objects.filter(handle=alice_device.handle).count() == 1


def test_a_send_past_the_budget_is_held_scheduled_with_its_reason(alice, alice_device):
    budget(alice_device.handle, 1)
    send(alice, to=NEW[0], text="fits")
    response = post_message(alice, to=NEW[1], text="waits")
    data = response.json()["data"]
    assert response.status_code == 202
    assert response["X-New-Contacts-Remaining"] == "0"
    assert (data["status"], data["reason"], data["send_at"]) == (
        "scheduled",
        "new_contact_budget",
        None,
    )
    assert not HandleContact.objects.filter(address=NEW[1]).exists()
    fetched = alice.client.get(f"/v1/messages/{data['id']}").json()["data"]
    assert fetched["reason"] == "new_contact_budget"


def test_a_held_send_still_lets_known_recipients_through(alice, alice_device):
    budget(alice_device.handle, 1)
    send(alice, to=NEW[0], text="fits")
    send(alice, to=NEW[1], text="held")
    assert status_of(send(alice, to=NEW[0], text="known")) == ("queued", None)


def test_an_unlimited_handle_says_unlimited_and_still_counts(alice, alice_device):
    budget(alice_device.handle, None)
    response = post_message(alice, to=NEW[0], text="hello")
    assert response["X-New-Contacts-Remaining"] == "unlimited"
    handle = alice.client.get(f"/v1/handles/{alice_device.handle.address}").json()["data"]
    assert handle["new_contacts"] == {"used": 1, "budget": None, "resets_at": None}


def test_a_group_send_takes_a_slot_for_each_new_member(alice, alice_device):
    budget(alice_device.handle, 2)
    data = send(alice, to=NEW[:3], text="three new people")
    assert status_of(data) == ("scheduled", "new_contact_budget")
    data = send(alice, to=NEW[:2], text="two fit")
    assert status_of(data) == ("queued", None)


def test_a_critical_line_holds_new_contacts_but_not_conversations(alice, alice_device):
    send(alice, to=NEW[0], text="known")
    Handle.objects.filter(pk=alice_device.handle.pk).update(health=Handle.Health.CRITICAL)
    assert status_of(send(alice, to=NEW[1], text="new")) == ("scheduled", "line_health")
    assert status_of(send(alice, to=NEW[0], text="known")) == ("queued", None)


def test_an_account_that_does_not_pause_critical_lines_sends_to_new_contacts(alice, alice_device):
    alice.account.health_auto_pause = False
    alice.account.save(update_fields=["health_auto_pause"])
    Handle.objects.filter(pk=alice_device.handle.pk).update(health=Handle.Health.CRITICAL)
    assert status_of(send(alice, to=NEW[1], text="new")) == ("queued", None)


def test_the_handle_shows_its_budget_used_and_when_it_resets(alice, alice_device):
    budget(alice_device.handle, 2)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(alice, to=NEW[0], text="one")
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        send(alice, to=NEW[1], text="two")
        listed = alice.client.get("/v1/handles").json()["data"][0]["new_contacts"]
    assert listed["used"] == 2
    assert listed["budget"] == 2
    resets_at = datetime.fromisoformat(listed["resets_at"].replace("Z", "+00:00"))
    assert abs(resets_at - (start + timedelta(hours=24))) < timedelta(seconds=1)
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        renewed = alice.client.get("/v1/handles").json()["data"][0]["new_contacts"]
    assert renewed == {"used": 1, "budget": 2, "resets_at": None}


def test_held_messages_go_when_the_budget_renews_oldest_first(alice, alice_device):
    budget(alice_device.handle, 1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(alice, to=NEW[0], text="fits")
    held = []
    for n, address in enumerate(NEW[1:4], start=1):
        with time_machine.travel(start + timedelta(seconds=n), tick=False):
            held.append(send(alice, to=address, text=f"held {n}")["id"])
    assert releasing.held_release(handle_id=alice_device.handle.pk) == 0
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        assert releasing.held_release(handle_id=alice_device.handle.pk) == 1
    first = Message.objects.get(pk=held[0])
    assert (first.status, first.status_reason, first.send_at) == ("queued", "", None)
    assert first.queued_at is not None
    assert [status_of({"id": pk}) for pk in held[1:]] == [("scheduled", "new_contact_budget")] * 2
    with time_machine.travel(start + timedelta(hours=24, seconds=2), tick=False):
        # The slot the first release took counts for 24 hours.
        assert releasing.held_release(handle_id=alice_device.handle.pk) == 0
    with time_machine.travel(start + timedelta(hours=48, seconds=2), tick=False):
        assert releasing.held_release(handle_id=alice_device.handle.pk) == 1
    assert status_of({"id": held[1]}) == ("queued", None)
    assert status_of({"id": held[2]}) == ("scheduled", "new_contact_budget")


def test_a_release_records_history_and_the_queued_event(alice, alice_device):
    from webhooks.models import Event

    budget(alice_device.handle, 0)
    held = send(alice, to=NEW[0], text="held")
    budget(alice_device.handle, 1)
    assert releasing.held_release(handle_id=alice_device.handle.pk) == 1
    history = MessageStatusEvent.objects.filter(message_id=held["id"]).order_by("id")
    assert [row.status for row in history] == ["scheduled", "queued"]
    assert history.last().source == "new_contacts"  # type: ignore[union-attr]
    event = Event.objects.get(type="message.queued", subject=held["id"])
    assert event.data["reason"] is None
    assert event.data["status"] == "queued"


def test_several_held_messages_to_one_contact_take_one_slot(alice, alice_device):
    budget(alice_device.handle, 0)
    ids = [send(alice, to=NEW[0], text=f"{n}")["id"] for n in range(3)]
    budget(alice_device.handle, 1)
    assert releasing.held_release(handle_id=alice_device.handle.pk) == 3
    assert {status_of({"id": pk}) for pk in ids} == {("queued", None)}
    assert new_contacts.budget_usage([alice_device.handle])[alice_device.handle.pk].used == 1


def test_a_recipient_who_writes_in_is_known_and_their_held_message_goes_without_a_slot(
    alice, alice_device
):
    budget(alice_device.handle, 0)
    held = send(alice, to=NEW[0], text="held")
    pushed = device_pushes(
        alice_device,
        {"id": "in-1", "type": "message.received", "data": {"from": NEW[0], "text": "hi"}},
    )
    assert pushed.status_code == 200, pushed.content
    contact = HandleContact.objects.get(handle=alice_device.handle, address=NEW[0])
    assert contact.budget_used_at is None
    assert releasing.held_release(handle_id=alice_device.handle.pk) == 1
    assert status_of(held) == ("queued", None)


def test_a_held_message_can_be_canceled_and_is_then_never_released(alice, alice_device):
    budget(alice_device.handle, 0)
    held = send(alice, to=NEW[0], text="held")
    canceled = alice.client.post(f"/v1/messages/{held['id']}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["data"]["error"]["code"] == "canceled"
    budget(alice_device.handle, 5)
    assert releasing.held_release(handle_id=alice_device.handle.pk) == 0
    assert status_of(held)[0] == "failed"


def test_the_scheduled_sweeper_leaves_held_messages_alone(alice, alice_device):
    budget(alice_device.handle, 0)
    held = send(alice, to=NEW[0], text="held")
    assert messages_sweep().released == 0
    assert status_of(held) == ("scheduled", "new_contact_budget")


def test_a_scheduled_send_past_the_budget_waits_for_its_time_then_with_the_held(
    alice, alice_device
):
    budget(alice_device.handle, 0)
    send_at = timezone.now() + timedelta(minutes=5)
    data = send(alice, to=NEW[0], text="later", send_at=send_at.isoformat())
    assert status_of(data) == ("scheduled", "new_contact_budget")
    with time_machine.travel(send_at + timedelta(seconds=1), tick=False):
        assert messages_sweep().released == 0
    message = Message.objects.get(pk=data["id"])
    assert (message.status, message.send_at) == ("scheduled", None)
    budget(alice_device.handle, 1)
    with time_machine.travel(send_at + timedelta(seconds=2), tick=False):
        assert releasing.held_release(handle_id=alice_device.handle.pk) == 1


def test_an_auto_selected_sender_is_one_with_budget_left(alice, alice_device):
    budget(alice_device.handle, 0)
    other = attach_device(alice.account, "+14155550124")
    response = post_message(alice, to=NEW[0], text="from the other")
    data = response.json()["data"]
    assert (data["from_handle"], data["status"]) == (other.handle.address, "queued")
    assert response["X-New-Contacts-Remaining"] == "49"


def test_a_known_recipient_stays_on_their_handle_even_when_its_budget_is_gone(alice, alice_device):
    send(alice, to=NEW[0], text="first")
    budget(alice_device.handle, 0)
    attach_device(alice.account, "+14155550124")
    data = send(alice, to=NEW[0], text="again")
    assert (data["from_handle"], data["status"]) == (alice_device.handle.address, "queued")


def test_an_explicit_from_handle_is_never_rerouted(alice, alice_device):
    budget(alice_device.handle, 0)
    attach_device(alice.account, "+14155550124")
    data = send(alice, to=NEW[0], from_handle=alice_device.handle.address, text="held")
    assert data["from_handle"] == alice_device.handle.address
    assert status_of(data) == ("scheduled", "new_contact_budget")


def test_with_no_handle_left_with_budget_the_send_is_held_not_refused(alice, alice_device):
    budget(alice_device.handle, 0)
    other = attach_device(alice.account, "+14155550124")
    budget(other.handle, 0)
    assert status_of(send(alice, to=NEW[0], text="held")) == ("scheduled", "new_contact_budget")


def test_another_accounts_contacts_do_not_make_a_recipient_known(alice, alice_device, charlie):
    charlie_handle = attach_device(charlie.account, "+14155550177").handle
    HandleContact.objects.create(handle=charlie_handle, address=NEW[0])
    budget(alice_device.handle, 0)
    assert status_of(send(alice, to=NEW[0], text="new to alice")) == (
        "scheduled",
        "new_contact_budget",
    )


def test_the_backfill_makes_everyone_a_handle_has_a_chat_with_known_without_a_slot(
    alice, alice_device
):
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("messaging.migrations.0009_handle_contacts_backfill")
    backfill = migration.backfill
    send(alice, to=NEW[0], text="a chat")
    send(alice, to=NEW[1:3], text="a group")
    HandleContact.objects.all().delete()
    with connection.schema_editor() as editor:
        backfill(apps, editor)
    contacts = HandleContact.objects.filter(handle=alice_device.handle)
    assert sorted(contacts.values_list("address", flat=True)) == NEW[:3]
    assert not contacts.filter(budget_used_at__isnull=False).exists()
