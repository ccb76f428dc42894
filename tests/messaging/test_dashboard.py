"""The messaging pages of the dashboard: what they show, sending from them, and their cost."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from messaging.models import Message
from messaging.services.inbound import inbound_message_record
from messaging.services.sending import message_send
from tests.conftest import attach_device, signed_in

PAGES = (
    "",
    "conversations/",
    "conversations/{chat}/",
    "messages/",
    "messages/{message}/",
    "opt-outs/",
)


@pytest.fixture
def owner(alice):
    return signed_in(alice.account, "owner")


@pytest.fixture
def busy(alice):
    """200 messages over 40 conversations, in and out."""
    device = attach_device(alice.account, "+14155550123")
    first = None
    for n in range(100):
        person = f"+1415555{1000 + n % 40:04d}"
        sent = message_send(account=alice.account, to=person, text=f"out {n}")
        first = first or sent
        inbound_message_record(
            handle=device.handle,
            upstream_id=f"in-{n}",
            sender=person,
            participants=[],
            chat_id=None,
            channel="imessage",
            text=f"in {n}",
            at=timezone.now(),
        )
    return first


@pytest.mark.parametrize("page", PAGES)
def test_every_messaging_page_is_a_fixed_number_of_queries(
    page, alice, owner, busy, django_assert_max_num_queries
):
    url = f"/dashboard/{alice.account.pk}/" + page.format(chat=busy.chat_id, message=busy.pk)
    with django_assert_max_num_queries(16):
        assert owner.get(url).status_code == 200


def test_sending_from_a_conversation_goes_through_the_send_path(alice, owner, busy):
    url = f"/dashboard/{alice.account.pk}/conversations/{busy.chat_id}/send/"
    response = owner.post(url, {"text": "from the dashboard", "submission": "form-1"})
    assert response.status_code == 302
    sent = Message.objects.get(text="from the dashboard")
    assert (sent.status, sent.chat_id, sent.direction) == ("queued", busy.chat_id, "outbound")


def test_a_form_sent_twice_sends_once(alice, owner, busy):
    url = f"/dashboard/{alice.account.pk}/conversations/{busy.chat_id}/send/"
    for _ in range(2):
        owner.post(url, {"text": "only once", "submission": "form-2"})
    assert Message.objects.filter(text="only once").count() == 1


def test_a_new_message_to_a_bad_number_shows_the_error_and_sends_nothing(alice, owner, busy):
    before = Message.objects.count()
    response = owner.post(
        f"/dashboard/{alice.account.pk}/messages/new/",
        {"to": "12345", "text": "hi", "channel": "auto", "from_handle": "", "submission": "f3"},
    )
    assert response.status_code == 400
    assert b"not a valid E.164" in response.content
    assert Message.objects.count() == before


def test_the_overview_counts_todays_outcomes(alice, owner, busy):
    page = owner.get(f"/dashboard/{alice.account.pk}/").content.decode()
    assert "Received today" in page
    assert ">100<" in page  # 100 inbound messages today


def test_the_log_finds_a_message_by_its_words(alice, owner, busy):
    page = owner.get(f"/dashboard/{alice.account.pk}/messages/", {"q": "out 42"}).content
    assert b"out 42" in page
    assert b"out 43" not in page


def test_a_failed_message_can_be_retried_from_its_page(alice, owner, busy):
    Message.objects.filter(pk=busy.pk).update(status="failed", error_code="blocked")
    response = owner.post(f"/dashboard/{alice.account.pk}/messages/{busy.pk}/retry/")
    assert response.status_code == 302
    assert Message.objects.get(pk=busy.pk).status == "queued"


def test_the_settings_show_todays_api_calls_and_messages(alice, owner, busy):
    for _ in range(3):
        alice.client.get("/v1/account")
    page = owner.get(f"/dashboard/{alice.account.pk}/team/").content.decode()
    calls = re.search(r"API calls today</span><span class=\"value\">(\d+)<", page)
    sent = re.search(r"Messages sent today</span><span class=\"value\">(\d+)<", page)
    assert calls is not None
    assert int(calls.group(1)) == 3
    assert sent is not None
    assert int(sent.group(1)) == 0  # queued, none sent yet
