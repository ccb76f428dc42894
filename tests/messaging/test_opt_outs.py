"""Opt-outs without workers: keywords read from inbound messages, the send refused, what
waits failed, the dispatcher's last check, the group rule (docs/compliance.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contract.times import rfc3339
from messaging.models import Message, OptOut
from messaging.services import opt_outs
from messaging.services.keywords import keyword_of
from tests.conftest import assert_error, post_message, send
from tests.messaging.conftest import device_pushes, device_takes_jobs, dispatch
from webhooks.models import Event

THEM = "+14155550199"


def inbound(text: str, *, sender: str = THEM, event_id: str = "") -> dict:
    event_id = event_id or f"in-{text}-{sender}-{Event.objects.count()}-{Message.objects.count()}"
    return {
        "id": event_id,
        "type": "message.received",
        "data": {"upstream_id": event_id, "from": sender, "text": text, "channel": "sms"},
    }


def says(online, text: str, **kwargs) -> None:
    response = device_pushes(online, inbound(text, **kwargs))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "text",
    [" Stop \n", "stop", "STOPALL", "unsubscribe", "Cancel", "END", "quit", "OPTOUT", "revoke"],
)
def test_every_stop_word_alone_in_any_case_is_a_stop(text):
    assert keyword_of(text) == "stop"


@pytest.mark.parametrize("text", ["START", "unstop", " Yes "])
def test_start_unstop_and_yes_opt_back_in(text):
    assert keyword_of(text) == "start"


@pytest.mark.parametrize("text", ["stop it", "please stop", "STOP!", "", "yes please", "helpme"])
def test_a_keyword_inside_other_words_is_no_keyword(text):
    assert keyword_of(text) is None


def test_help_is_help():
    assert keyword_of(" help ") == "help"


def test_stop_opts_the_sender_out_of_the_account_with_its_message(alice, online):
    says(online, "Stop")
    opt_out = OptOut.objects.get(account=alice.account)
    stop = Message.objects.get(direction="inbound", text="Stop")
    assert (opt_out.recipient, opt_out.source, opt_out.message_id) == (THEM, "keyword", stop.pk)
    event = Event.objects.get(type="contact.opted_out")
    assert event.data == {
        "recipient": THEM,
        "source": "keyword",
        "reason": "Stop",
        "handle": online.handle.address,
        "message_id": stop.pk,
        "created_at": event.data["created_at"],
    }


def test_the_same_keyword_twice_is_one_opt_out_and_one_event(alice, online):
    alice.account.opt_out_reply = "You are unsubscribed."
    alice.account.save()
    says(online, "STOP")
    says(online, "stop")
    assert OptOut.objects.filter(account=alice.account).count() == 1
    assert Event.objects.filter(type="contact.opted_out").count() == 1
    assert Message.objects.filter(direction="outbound").count() == 1


def test_a_device_sending_the_same_stop_again_changes_nothing(alice, online):
    says(online, "STOP", event_id="same-event")
    OptOut.objects.all().delete()  # as if they had opted back in by other means
    says(online, "STOP", event_id="same-event")
    assert OptOut.objects.count() == 0
    assert Message.objects.filter(direction="inbound").count() == 1


def test_a_send_to_an_opted_out_recipient_is_a_conflict_and_writes_nothing(alice, online):
    says(online, "STOP")
    messages, events = Message.objects.count(), Event.objects.count()
    response = post_message(alice, to=THEM, text="are you there?")
    assert_error(response, 409, "recipient_opted_out")
    assert (Message.objects.count(), Event.objects.count()) == (messages, events)


def test_the_opt_out_confirmation_goes_out_and_replies_to_the_stop(alice, online):
    alice.account.opt_out_reply = "You will get no more messages. Reply START to resume."
    alice.account.save()
    says(online, "STOP")
    reply = Message.objects.get(direction="outbound")
    stop = Message.objects.get(direction="inbound")
    assert (reply.status, reply.reply_to_id, reply.chat_id, reply.handle_id) == (
        "queued",
        stop.pk,
        stop.chat_id,
        online.handle.pk,
    )
    assert reply.channel == "sms"
    dispatch(online.handle)
    jobs = device_takes_jobs(online)
    assert [job["payload"]["message_id"] for job in jobs] == [reply.pk]


def test_no_confirmation_goes_out_when_the_account_has_none(alice, online):
    says(online, "STOP")
    assert not Message.objects.filter(direction="outbound").exists()


def test_start_opts_back_in_and_sends_work_again(alice, online):
    alice.account.opt_in_reply = "Welcome back."
    alice.account.save()
    says(online, "STOP")
    says(online, "start")
    assert not OptOut.objects.exists()
    event = Event.objects.get(type="contact.opted_in")
    assert (event.data["recipient"], event.data["source"]) == (THEM, "keyword")
    assert Message.objects.get(direction="outbound").text == "Welcome back."
    assert send(alice, to=THEM, text="hello again")["status"] == "queued"


def test_start_from_someone_not_opted_out_does_nothing(alice, online):
    alice.account.opt_in_reply = "Welcome back."
    alice.account.save()
    says(online, "YES")
    assert not Event.objects.filter(type="contact.opted_in").exists()
    assert not Message.objects.filter(direction="outbound").exists()


def test_help_is_answered_with_the_accounts_help_text(alice, online):
    alice.account.help_reply = "Acme alerts. Reply STOP to stop."
    alice.account.save()
    says(online, "HELP")
    reply = Message.objects.get(direction="outbound")
    assert (reply.text, reply.to) == ("Acme alerts. Reply STOP to stop.", THEM)


def test_help_from_an_opted_out_recipient_is_not_answered(alice, online):
    alice.account.help_reply = "Acme alerts."
    alice.account.save()
    says(online, "STOP")
    says(online, "help")
    assert not Message.objects.filter(direction="outbound").exists()


def test_queued_and_scheduled_messages_fail_when_the_recipient_opts_out(alice, online):
    queued = send(alice, to=THEM, text="queued before")
    tomorrow = rfc3339(timezone.now() + timedelta(days=1))
    scheduled = send(alice, to=THEM, text="later", send_at=tomorrow)
    other = send(alice, to="+14155550198", text="someone else")
    says(online, "STOP")
    for data in (queued, scheduled):
        message = Message.objects.get(pk=data["id"])
        assert (message.status, message.error_code) == ("failed", "recipient_opted_out")
        assert [h.source for h in message.history.all()][-1] == "opt_out"
    assert Message.objects.get(pk=other["id"]).status == "queued"
    failed = Event.objects.filter(type="message.failed").values_list("subject", flat=True)
    assert sorted(failed) == sorted([queued["id"], scheduled["id"]])


def test_the_dispatcher_refuses_a_message_whose_recipient_opted_out_after_acceptance(alice, online):
    accepted = send(alice, to=THEM, text="accepted first")
    # The opt-out committed without seeing it (the race the opt-out's own sweep leaves open).
    OptOut.objects.create(account=alice.account, recipient=THEM, source="api")
    dispatch(online.handle)
    message = Message.objects.get(pk=accepted["id"])
    assert (message.status, message.error_code) == ("failed", "recipient_opted_out")
    assert device_takes_jobs(online) == []


def test_the_dispatcher_reads_opt_outs_once_per_run(alice, online):
    for n in range(5):
        send(alice, to=f"+1415555018{n}", text="hi")
    opt_outs.opt_out_add(account=alice.account, recipient="+14155550184", source="api")
    with CaptureQueriesContext(connection) as queries:
        dispatch(online.handle)
    assert len([q for q in queries if 'FROM "messaging_optout"' in q["sql"]]) == 1
    assert Message.objects.filter(status="sending").count() == 4


def test_a_group_with_an_opted_out_member_is_refused(alice, online):
    opt_outs.opt_out_add(account=alice.account, recipient=THEM, source="api")
    response = post_message(alice, to=[THEM, "+14155550198"], text="team")
    assert_error(response, 409, "recipient_opted_out")


def test_a_group_with_an_opted_out_member_goes_out_when_the_account_allows_it(alice, online):
    alice.account.group_opt_outs_allowed = True
    alice.account.save()
    opt_outs.opt_out_add(account=alice.account, recipient=THEM, source="api")
    assert send(alice, to=[THEM, "+14155550198"], text="team")["status"] == "queued"


def test_a_queued_group_message_fails_when_a_member_opts_out(alice, online):
    group = send(alice, to=[THEM, "+14155550198"], text="team")
    says(online, "stop")
    assert Message.objects.get(pk=group["id"]).error_code == "recipient_opted_out"


def test_a_stop_inside_a_group_is_no_opt_out(alice, online):
    event = inbound("STOP")
    event["data"]["participants"] = [THEM, "+14155550198"]
    device_pushes(online, event)
    assert not OptOut.objects.exists()


def test_another_accounts_opt_out_does_not_apply(alice, online, charlie):
    opt_outs.opt_out_add(account=charlie.account, recipient=THEM, source="api")
    assert send(alice, to=THEM, text="still fine")["status"] == "queued"
