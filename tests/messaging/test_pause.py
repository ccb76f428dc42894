"""An operator's pause of a handle: nothing goes out, nothing fails or ages; resume sends on."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditEntry
from handles import services as handle_services
from handles.models import Handle
from messaging.models import HandleQueue, Message
from messaging.services.dispatch import _lock_queues, messages_sweep
from tests.conftest import attach_device, send
from tests.messaging.conftest import device_takes_jobs, dispatch
from webhooks.models import Event


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_a_paused_handles_dispatcher_hands_its_device_nothing(alice, online):
    handle_services.handle_pause(handle=online.handle)
    message = send(alice, to="+14155550199", text="held")
    result = dispatch(online.handle)
    assert (result.dispatched, result.paused) == (0, True)
    assert device_takes_jobs(online) == []
    assert Message.objects.get(pk=message["id"]).status == "queued"


def test_a_paused_handles_messages_outlive_their_time_to_live_and_go_out_on_resume(alice, online):
    message = send(alice, to="+14155550199", text="held for a day")
    handle_services.handle_pause(handle=online.handle)
    later = timezone.now() + timedelta(hours=25)
    with time_machine.travel(later):
        assert messages_sweep().expired == 0
        handle_services.handle_resume(handle=Handle.objects.get(pk=online.handle.pk))
        online.client.post("/device/v1/heartbeat", {}, format="json")
        assert messages_sweep().expired == 0
        assert dispatch(online.handle).dispatched == 1
    (job,) = device_takes_jobs(online)
    assert job["payload"]["message_id"] == message["id"]
    assert Message.objects.get(pk=message["id"]).status == "sending"


def test_resuming_keeps_the_queues_order(alice, online):
    first = send(alice, to="+14155550199", text="1")
    handle_services.handle_pause(handle=online.handle)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        second = send(alice, to="+14155550199", text="2")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        handle_services.handle_resume(handle=online.handle)
    places = dict(Message.objects.values_list("id", "queued_at"))
    first_place, second_place = places[first["id"]], places[second["id"]]
    assert first_place is not None
    assert second_place is not None
    assert first_place < second_place
    dispatch(online.handle)
    assert [job["payload"]["text"] for job in device_takes_jobs(online)] == ["1", "2"]


def test_a_paused_handle_is_not_rekicked_by_the_sweeper(alice, online):
    send(alice, to="+14155550199", text="held")
    handle_services.handle_pause(handle=online.handle)
    assert online.handle.pk not in messages_sweep().kicked


def test_pausing_and_resuming_publish_their_events_to_the_handles_account(alice, online):
    handle_services.handle_pause(handle=online.handle)
    handle_services.handle_pause(handle=online.handle)  # already paused: no second event
    handle_services.handle_resume(handle=online.handle)
    events = list(
        Event.objects.filter(type__in=["handle.paused", "handle.resumed"])
        .order_by("created_at")
        .values_list("type", "account_id", "data")
    )
    assert [(kind, account) for kind, account, _ in events] == [
        ("handle.paused", alice.account.pk),
        ("handle.resumed", alice.account.pk),
    ]
    assert events[0][2]["handle"] == "+14155550123"
    assert (events[0][2]["paused"], events[1][2]["paused"]) == (True, False)


def test_the_handle_list_shows_whether_a_handle_is_paused(alice, online):
    handle_services.handle_pause(handle=online.handle)
    response = alice.client.get("/v1/handles")
    assert response.status_code == 200
    assert [(h["handle"], h["paused"]) for h in response.json()["data"]] == [("+14155550123", True)]


def test_pause_and_resume_commands_print_json_and_are_audited_as_command_line(alice, online):
    assert run("pause_handle", " +14155550123 ", "--reason", "carrier complaint") == {
        "handle": "+14155550123",
        "paused": True,
    }
    assert Handle.objects.get(pk=online.handle.pk).paused is True
    assert run("resume_handle", "+14155550123") == {"handle": "+14155550123", "paused": False}
    assert Handle.objects.get(pk=online.handle.pk).paused is False
    rows = list(
        AuditEntry.objects.order_by("at").values_list(
            "operator_name", "action", "object_id", "account_id", "reason"
        )
    )
    handle_id, account_id = str(online.handle.pk), alice.account.pk
    assert rows == [
        ("command-line", "handle.pause", handle_id, account_id, "carrier complaint"),
        ("command-line", "handle.resume", handle_id, account_id, ""),
    ]


def test_pausing_an_unknown_handle_is_a_command_error(db):
    with pytest.raises(CommandError, match="No handle"):
        run("pause_handle", "+14155550999")


def test_a_send_without_from_handle_avoids_a_paused_handle(alice, online):
    other = attach_device(alice.account, "+14155550144")
    assert other.client.post("/device/v1/heartbeat", {}, format="json").status_code == 200
    send(
        alice,
        to="+14155550100",
        text="makes the other queue longer",
        from_handle=other.handle.address,
    )
    handle_services.handle_pause(handle=online.handle)
    message = send(alice, to="+14155550199", text="who sends me?")
    assert message["from_handle"] == "+14155550144"


@pytest.mark.django_db(transaction=True)
def test_a_pause_waits_for_a_dispatch_run_under_way_on_the_handle(alice, online):
    """A run holds the handle's queue row while it hands messages over; the pause takes that
    lock too, so it commits only after the run's batch, and no later run hands anything."""
    dispatch(online.handle)  # makes the queue row
    run_holds_queue, pause_done, release = threading.Event(), threading.Event(), threading.Event()

    def dispatch_run_under_way() -> None:
        with transaction.atomic():
            list(HandleQueue.objects.select_for_update().filter(handle_id=online.handle.pk))
            run_holds_queue.set()
            release.wait(30)
        connection.close()

    def operator_pauses() -> None:
        handle_services.handle_pause(handle=Handle.objects.get(pk=online.handle.pk))
        pause_done.set()
        connection.close()

    run = threading.Thread(target=dispatch_run_under_way)
    run.start()
    assert run_holds_queue.wait(30)
    pause = threading.Thread(target=operator_pauses)
    pause.start()
    assert not pause_done.wait(1), "the pause committed while a run held the queue"
    release.set()
    run.join(30)
    pause.join(30)
    assert pause_done.is_set()
    assert Handle.objects.get(pk=online.handle.pk).paused is True


def test_a_run_that_read_the_handle_before_the_pause_takes_no_queue_after_it(alice, online):
    dispatch(online.handle)  # makes the queue row
    read_before = Handle.objects.get(pk=online.handle.pk)
    handle_services.handle_pause(handle=online.handle)
    with transaction.atomic():
        assert _lock_queues({read_before.pk: read_before}) == {}
    send(alice, to="+14155550199", text="held")
    assert dispatch(online.handle).paused is True
