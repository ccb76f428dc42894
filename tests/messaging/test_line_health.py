"""Line health judged from what devices report (messaging.services.line_health), recorded by
the handles app with its event, and cleared by an operator."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEntry
from handles import services as handle_services
from handles.models import Handle
from messaging.models import HandleContact, Message
from messaging.services import line_health
from messaging.services.lifecycle import message_cancel
from tests.conftest import send
from tests.messaging.conftest import device_pushes, device_reports, device_takes_jobs, dispatch
from webhooks.models import Event


@pytest.fixture(autouse=True)
def small_rules(settings):
    settings.SWITCHBOARD_LINE_HEALTH = {
        **settings.SWITCHBOARD_LINE_HEALTH,
        "outcomes": 10,
        "min_outcomes": 4,
        "min_contacts": 4,
        "failure_rate": [0.25, 0.5],
        "not_registered_rate": [0.3, 0.6],
        "device_errors": [5, 8],
    }


def outcomes(tenant, device_of, results, *, first=0, **body):
    """Send one message per result to a new recipient each; the device reports each as
    given (True: sent, False: failed undeliverable, a str: failed with that code)."""
    # Paced fast enough that one dispatch hands the device all of them.
    handle_services.handle_assign(
        account=tenant.account, address=device_of.handle.address, per_minute=6000, burst=100
    )
    sent = []
    for n in range(first, first + len(results)):
        sent.append(send(tenant, to=f"+1415555{n:04d}", text=f"m{n}", **{"channel": "sms", **body}))
    dispatch(device_of.handle)
    jobs = {job["payload"]["message_id"]: job for job in device_takes_jobs(device_of)}
    for message, result in zip(sent, results, strict=True):
        job = jobs[message["id"]]
        if result is True:
            device_reports(device_of, job, ok=True, upstream_id=f"up-{message['id']}")
        else:
            code = "undeliverable" if result is False else result
            device_reports(device_of, job, ok=False, error={"code": code, "message": "no"})
    return sent


def evaluate(handle):
    line_health.handle_health_evaluate(handle_id=handle.pk)
    return Handle.objects.get(pk=handle.pk)


def health_events(account):
    return [
        event.data
        for event in Event.objects.filter(account=account, type="handle.health_changed").order_by(
            "created_at", "id"
        )
    ]


def test_failures_the_device_reports_put_the_handle_at_risk_with_the_reason(alice, online):
    outcomes(alice, online, [True, False, True, True, False, True, True, True])
    handle = evaluate(online.handle)
    assert handle.health == "at_risk"
    assert handle.health_changed_at is not None
    assert [(r["code"], r["level"], r["value"], r["threshold"]) for r in handle.health_reasons] == [
        ("failure_rate", "at_risk", 0.25, 0.25)
    ]
    assert handle.health_reasons[0]["message"] == (
        "25% of the last 8 sends failed (at risk from 25%)."
    )


def test_a_change_of_state_publishes_handle_health_changed_with_the_previous_state(alice, online):
    outcomes(alice, online, [True, False, True, False])
    handle = evaluate(online.handle)
    assert handle.health == "critical"
    (data,) = health_events(alice.account)
    assert data == {
        "handle": online.handle.address,
        "health": "critical",
        "previous": "healthy",
        "reasons": handle.health_reasons,
        "changed_at": data["changed_at"],
    }
    assert data["changed_at"].endswith("Z")


def test_judging_again_with_nothing_new_publishes_nothing(alice, online):
    outcomes(alice, online, [True, False, True, False])
    evaluate(online.handle)
    evaluate(online.handle)
    assert len(health_events(alice.account)) == 1


def test_new_reasons_in_the_same_state_are_recorded_without_an_event(alice, online):
    outcomes(alice, online, [True, False, True, True, False, True, True, True])  # 25%
    evaluate(online.handle)
    outcomes(alice, online, [False], first=20)  # 3 of 9: 33%, still at risk
    handle = evaluate(online.handle)
    assert handle.health == "at_risk"
    assert handle.health_reasons[0]["value"] == pytest.approx(0.3333)
    assert len(health_events(alice.account)) == 1


def test_successes_after_failures_bring_the_handle_back_to_healthy(alice, online):
    alice.account.health_auto_pause = False  # its new contacts are not held meanwhile
    alice.account.save(update_fields=["health_auto_pause"])
    outcomes(alice, online, [True, False, True, False])
    assert evaluate(online.handle).health == "critical"
    outcomes(alice, online, [True] * 10, first=10)
    handle = evaluate(online.handle)
    assert (handle.health, handle.health_reasons) == ("healthy", [])
    assert [e["health"] for e in health_events(alice.account)] == ["critical", "healthy"]


def test_sends_failing_in_a_row_are_device_errors(alice, online, settings):
    settings.SWITCHBOARD_LINE_HEALTH["min_outcomes"] = 50  # no rate judged: the streak alone
    outcomes(alice, online, [True] + ["refused"] * 5)
    handle = evaluate(online.handle)
    assert [(r["code"], r["level"], r["value"]) for r in handle.health_reasons] == [
        ("device_errors", "at_risk", 5)
    ]


def test_an_imessage_recipient_not_on_imessage_counts_though_the_message_fell_back_to_sms(
    alice, online
):
    sent = outcomes(
        alice, online, ["not_registered"] * 2 + [True] * 2, channel="imessage", fallback=True
    )
    # The two fell back to SMS and are queued again; they go out as SMS.
    assert {Message.objects.get(pk=m["id"]).status for m in sent[:2]} == {"queued"}
    dispatch(online.handle)
    for job in device_takes_jobs(online):
        device_reports(online, job, ok=True, upstream_id=f"up2-{job['job_id']}")
    handle = evaluate(online.handle)
    assert [(r["code"], r["level"], r["value"]) for r in handle.health_reasons] == [
        ("not_registered_rate", "at_risk", 0.5)
    ]


def test_messages_the_platform_failed_do_not_count(alice, online):
    outcomes(alice, online, [True] * 4)
    for n in range(4):
        message = send(alice, to=f"+1415556{n:04d}", text="never mind")
        message_cancel(message=Message.objects.get(pk=message["id"]))
    handle = evaluate(online.handle)
    assert handle.health == "healthy"


def test_an_operators_clear_makes_the_handle_healthy_audited_and_forgets_the_past(alice, online):
    outcomes(alice, online, [True, False, True, False])
    handle = evaluate(online.handle)
    assert handle_services.handle_health_clear(handle=handle, operator=None, reason="new SIM")
    handle = Handle.objects.get(pk=handle.pk)
    assert (handle.health, handle.health_reasons) == ("healthy", [])
    assert handle.health_cleared_at is not None
    entry = AuditEntry.objects.get(action="handle.health_clear")
    assert (entry.object_id, entry.changes, entry.reason) == (
        str(handle.pk),
        {"health": ["critical", "healthy"]},
        "new SIM",
    )
    assert [e["previous"] for e in health_events(alice.account)] == ["healthy", "critical"]
    # The failures before the clear no longer count.
    assert evaluate(handle).health == "healthy"


def test_clearing_a_healthy_handle_is_not_audited(alice, online):
    assert not handle_services.handle_health_clear(handle=online.handle, operator=None)
    assert not AuditEntry.objects.filter(action="handle.health_clear").exists()


def test_a_judgement_an_operators_clear_overtook_is_dropped(alice, online):
    outcomes(alice, online, [True, False, True, False])
    stale = Handle.objects.get(pk=online.handle.pk)
    handle_services.handle_health_clear(handle=online.handle, operator=None)
    assert not handle_services.handle_health_set(
        handle=stale, health="critical", reasons=[], cleared_at=stale.health_cleared_at
    )
    assert Handle.objects.get(pk=online.handle.pk).health == "healthy"


def test_a_reply_after_the_handle_wrote_first_marks_the_contact_answered(alice, online):
    first_wrote = timezone.now() - timedelta(hours=2)
    HandleContact.objects.create(
        handle=online.handle, address="+14155550150", budget_used_at=first_wrote
    )
    for n in range(2):
        response = device_pushes(
            online,
            {
                "id": f"in-{n}",
                "type": "message.received",
                "data": {"from": "+14155550150", "text": f"hi {n}", "channel": "sms"},
            },
        )
        assert response.status_code == 200, response.content
    contact = HandleContact.objects.get(handle=online.handle, address="+14155550150")
    assert contact.replied_at is not None
    assert contact.replied_at > first_wrote


def test_new_contacts_that_never_answer_put_the_handle_at_risk(alice, online, settings):
    settings.SWITCHBOARD_LINE_HEALTH["unanswered_rate"] = [0.75, 0.95]
    now = timezone.now()
    for n in range(4):
        HandleContact.objects.create(
            handle=online.handle, address=f"+1415557{n:04d}", budget_used_at=now
        )
    HandleContact.objects.filter(address="+14155570000").update(replied_at=now)
    assert evaluate(online.handle).health == "healthy"  # still within the grace period
    with time_machine.travel(now + timedelta(hours=25)):
        handle = evaluate(online.handle)
    assert [(r["code"], r["value"]) for r in handle.health_reasons] == [("unanswered_rate", 0.75)]


def test_the_minute_run_judges_handles_that_sent_lately_and_the_hourly_one_all(alice, online):
    quiet = handle_services.handle_assign(account=alice.account, address="+14155550124")
    outcomes(alice, online, [True, False, True, False])
    result = line_health.handles_health_evaluate()
    assert (result.evaluated, result.changed) == (1, 1)
    assert line_health.handles_health_evaluate(everything=True).evaluated == 2
    assert Handle.objects.get(pk=quiet.pk).health == "healthy"
