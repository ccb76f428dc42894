"""New-contact budgets under concurrency: two connections at once (docs/compliance.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from messaging.models import Message, MessageStatusEvent
from messaging.services import releasing
from messaging.services.sending import message_send
from tests.conftest import attach_device
from tests.messaging.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(work: Callable[[], Any], results: list[Any]) -> threading.Thread:
    """`work` on its own database connection, in a thread; its result (or error) kept."""

    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:  # pragma: no cover - shown by the assertion on results
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def waiting_on_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return bool(cursor.fetchone()[0])


def test_two_sends_racing_for_the_last_slot_do_not_both_take_it(alice):
    handle = attach_device(alice.account, "+14155550123").handle
    handle.new_contact_budget = 1
    handle.save(update_fields=["new_contact_budget"])
    sent, commit = threading.Event(), threading.Event()

    def first() -> str:
        with transaction.atomic():
            message = message_send(account=alice.account, to="+14155551001", text="first")
            sent.set()
            commit.wait(10)
        return str(message.pk)

    def second() -> str:
        return str(message_send(account=alice.account, to="+14155551002", text="second").pk)

    results: list[Any] = []
    one = in_thread(first, results)
    assert sent.wait(10)
    two = in_thread(second, results)
    # The second send waits for the handle's budget lock the first holds until it commits.
    wait_until(waiting_on_an_advisory_lock, what="the second send to wait for the lock")
    commit.set()
    one.join(10)
    two.join(10)
    assert all(isinstance(result, str) for result in results), results
    outcomes = sorted(
        (message.text, message.status, message.status_reason)
        for message in Message.objects.filter(pk__in=results)
    )
    assert outcomes == [
        ("first", "queued", ""),
        ("second", "scheduled", "new_contact_budget"),
    ]


def test_two_releases_at_once_queue_each_held_message_once(alice):
    handle = attach_device(alice.account, "+14155550123").handle
    handle.new_contact_budget = 0
    handle.save(update_fields=["new_contact_budget"])
    held = [
        message_send(account=alice.account, to=f"+1415555{1001 + n}", text=f"{n}").pk
        for n in range(4)
    ]
    handle.new_contact_budget = 10
    handle.save(update_fields=["new_contact_budget"])
    start = threading.Barrier(2)

    def release() -> int:
        start.wait(10)
        return releasing.held_release(handle_id=handle.pk)

    results: list[Any] = []
    threads = [in_thread(release, results) for _ in range(2)]
    for thread in threads:
        thread.join(20)
    assert sorted(results) == [0, 4]
    assert set(Message.objects.filter(pk__in=held).values_list("status", flat=True)) == {"queued"}
    queued_rows = MessageStatusEvent.objects.filter(message_id__in=held, status="queued")
    assert queued_rows.count() == 4
