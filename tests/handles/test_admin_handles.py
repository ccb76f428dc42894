"""Handles in admin: what an operator watches per handle, and pause, resume, move, attach."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import AuditEntry
from handles.models import Device, Handle
from messaging.models import Message
from tests.conftest import send
from tests.messaging.conftest import dispatch
from tests.operator_support import result_messages, run_action

HANDLES = "/admin/handles/handle/"


@pytest.fixture
def calling(alice_device: Any) -> Any:
    """Alice's handle with its device online (it has just called)."""
    assert alice_device.client.post("/device/v1/heartbeat", {}, format="json").status_code == 200
    return alice_device


def row_of(html: str, address: str) -> dict[str, str]:
    """The cells (column -> text) of the changelist row of `address`."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f">{address}</a>" in row:
            return dict(re.findall(r'<t[dh] class="field-([a-z_]+)[^"]*">(.*?)</t[dh]>', row, re.S))
    raise AssertionError(f"no row for {address}")


def test_the_handle_list_shows_status_queue_age_contact_and_pacing(operator, alice, calling):
    for n in range(3):
        send(alice, to="+14155550199", text=f"#{n}")
    row = row_of(operator.get(HANDLES).content.decode(), "+14155550123")
    assert row["live_status"] == "online"
    assert row["queue_depth"] == "3"
    assert row["oldest_queued"] == "0\xa0minutes"
    assert row["last_contact"] == "0\xa0minutes ago"
    assert row["pacing"] == "60/min, burst 5"
    assert "icon-no" in row["paused"]


def test_pausing_from_admin_holds_the_handle_and_is_audited(operator, alice, calling):
    response = run_action(operator, HANDLES, "pause", [calling.handle.pk])
    assert response.status_code == 302
    assert result_messages(operator.get(HANDLES)) == ["1 handle(s) paused."]
    message = send(alice, to="+14155550199", text="held")
    assert dispatch(calling.handle).dispatched == 0
    assert Message.objects.get(pk=message["id"]).status == "queued"
    entry = AuditEntry.objects.get()
    assert (entry.operator_name, entry.action, entry.object_type, entry.object_id) == (
        "operator",
        "handle.pause",
        "handles.handle",
        str(calling.handle.pk),
    )
    assert (entry.account_id, entry.changes) == (alice.account.pk, {"paused": [False, True]})


def test_resuming_from_admin_sends_again_and_is_audited(operator, alice, calling):
    run_action(operator, HANDLES, "pause", [calling.handle.pk])
    send(alice, to="+14155550199", text="held")
    run_action(operator, HANDLES, "resume", [calling.handle.pk])
    assert Handle.objects.get(pk=calling.handle.pk).paused is False
    assert dispatch(calling.handle).dispatched == 1
    assert list(AuditEntry.objects.order_by("at").values_list("action", flat=True)) == [
        "handle.pause",
        "handle.resume",
    ]


def test_moving_a_handle_first_says_how_many_queued_messages_will_fail(operator, alice, charlie):
    handle = Handle.objects.create(account=alice.account, address="+14155550123")
    for n in range(2):
        send(alice, to="+14155550199", text=f"#{n}")
    response = run_action(operator, HANDLES, "move", [handle.pk])
    assert response.status_code == 200
    assert "+14155550123: 2 queued message(s) will fail" in re.sub(
        r"<[^>]+>", "", response.content.decode()
    )
    assert Handle.objects.get(pk=handle.pk).account_id == alice.account.pk
    assert not AuditEntry.objects.exists()


def test_moving_a_handle_when_confirmed_moves_it_and_audits_both_accounts(operator, alice, charlie):
    handle = Handle.objects.create(account=alice.account, address="+14155550123")
    response = run_action(
        operator,
        HANDLES,
        "move",
        [handle.pk],
        confirm="yes",
        account=charlie.account.pk,
        reason="number ported",
    )
    assert response.status_code == 302
    assert Handle.objects.get(pk=handle.pk).account_id == charlie.account.pk
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.account_id, entry.reason) == (
        "handle.move",
        alice.account.pk,
        "number ported",
    )
    assert entry.changes == {"account": [alice.account.pk, charlie.account.pk]}


def test_attaching_a_device_from_admin_is_audited(operator, alice):
    handle = Handle.objects.create(account=alice.account, address="+14155550123")
    response = run_action(operator, HANDLES, "attach_device", [handle.pk])
    assert response.status_code == 200
    device = Device.objects.get(handle=handle)
    assert list(AuditEntry.objects.values_list("action", "object_id", "account_id")) == [
        ("device.attach", device.pk, alice.account.pk)
    ]


def test_changing_a_handles_pace_in_admin_records_before_and_after(operator, alice, calling):
    page = operator.get(f"{HANDLES}{calling.handle.pk}/change/")
    assert page.status_code == 200
    response = operator.post(
        f"{HANDLES}{calling.handle.pk}/change/",
        {
            "address": "+14155550123",
            "channels": '["imessage", "sms"]',
            "per_minute": "30",
            "burst": "2",
            "new_contact_budget": "50",
            "devices-TOTAL_FORMS": "1",
            "devices-INITIAL_FORMS": "1",
            "devices-MIN_NUM_FORMS": "0",
            "devices-MAX_NUM_FORMS": "1000",
            "devices-0-id": calling.device.pk,
            "devices-0-handle": str(calling.handle.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (Handle.objects.get(pk=calling.handle.pk).per_minute, Handle.objects.get().burst) == (
        30,
        2,
    )
    entry = AuditEntry.objects.get()
    assert (entry.operator_name, entry.action, entry.account_id) == (
        "operator",
        "change",
        alice.account.pk,
    )
    assert entry.changes == {"per_minute": [60, 30], "burst": [5, 2]}


def test_staff_who_may_only_view_handles_cannot_pause_them(alice):
    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_handle"))
    client = Client()
    client.force_login(viewer)
    handle = Handle.objects.create(account=alice.account, address="+14155550123")
    page = client.get(HANDLES)
    assert page.status_code == 200
    assert 'value="pause"' not in page.content.decode()
    run_action(client, HANDLES, "pause", [handle.pk])
    assert Handle.objects.get(pk=handle.pk).paused is False
    assert not AuditEntry.objects.exists()


def test_moving_a_handle_to_its_own_account_changes_nothing(operator, alice):
    handle = Handle.objects.create(account=alice.account, address="+14155550123")
    run_action(operator, HANDLES, "move", [handle.pk], confirm="yes", account=alice.account.pk)
    assert result_messages(operator.get(HANDLES)) == [
        f"+14155550123 is already {alice.account}'s.",
        f"0 handle(s) moved to {alice.account}.",
    ]
    assert not AuditEntry.objects.exists()
