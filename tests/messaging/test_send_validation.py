"""Bad input to POST /v1/messages gets the right code and field, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Chat, Message
from tests.conftest import assert_error, post_message
from webhooks.models import Event


@pytest.fixture
def sender(alice, alice_device):
    return alice


def assert_nothing_written():
    assert Message.objects.count() == 0
    assert Chat.objects.count() == 0
    assert not Event.objects.filter(type__startswith="message.").exists()


@pytest.mark.parametrize(
    "bad", ["+1", "12345", "+1415555012a", "not-an-email", "a@b", "x" * 300, ""]
)
def test_a_bad_recipient_is_invalid_handle(sender, bad):
    body = assert_error(post_message(sender, to=bad, text="hi"), 400, "invalid_handle")
    assert body["fields"] == {"to": ["Not a valid E.164 phone number or email address."]}
    assert_nothing_written()


def test_a_bad_recipient_in_a_group_is_invalid_handle(sender):
    assert_error(
        post_message(sender, to=["+14155550199", "nope"], text="hi"), 400, "invalid_handle"
    )
    assert_nothing_written()


def test_a_group_of_one_is_invalid(sender):
    body = assert_error(
        post_message(sender, to=["+14155550199"], text="hi"), 400, "invalid_request"
    )
    assert "to" in body["fields"]
    assert_nothing_written()


def test_both_to_and_chat_id_is_invalid(sender):
    body = assert_error(
        post_message(sender, to="+14155550199", chat_id="chat_x", text="hi"), 400, "invalid_request"
    )
    assert "to" in body["fields"]
    assert_nothing_written()


def test_neither_to_nor_chat_id_is_invalid(sender):
    body = assert_error(post_message(sender, text="hi"), 400, "invalid_request")
    assert "to" in body["fields"]
    assert_nothing_written()


def test_text_over_10000_characters_is_invalid(sender):
    body = assert_error(
        post_message(sender, to="+14155550199", text="x" * 10_001), 400, "invalid_request"
    )
    assert "text" in body["fields"]
    assert_nothing_written()


def test_text_of_10000_characters_is_accepted(sender):
    assert post_message(sender, to="+14155550199", text="x" * 10_000).status_code == 202


def test_no_text_and_no_attachments_is_invalid(sender):
    body = assert_error(post_message(sender, to="+14155550199"), 400, "invalid_request")
    assert "text" in body["fields"]
    assert_nothing_written()


@pytest.mark.parametrize("delta", [timedelta(minutes=-1), timedelta(days=30, minutes=1)])
def test_send_at_in_the_past_or_beyond_30_days_is_invalid(sender, delta):
    send_at = (timezone.now() + delta).isoformat()
    body = assert_error(
        post_message(sender, to="+14155550199", text="hi", send_at=send_at), 400, "invalid_request"
    )
    assert "send_at" in body["fields"]
    assert_nothing_written()


def test_an_unknown_field_is_invalid(sender):
    body = assert_error(
        post_message(sender, to="+14155550199", text="hi", priority="high"), 400, "invalid_request"
    )
    assert body["fields"] == {"priority": ["This field is not allowed."]}
    assert_nothing_written()


def test_a_from_handle_of_another_account_is_invalid_from_handle(sender, charlie_device):
    response = post_message(sender, to="+14155550199", text="hi", from_handle="+14155550177")
    body = assert_error(response, 400, "invalid_from_handle")
    assert "from_handle" in body["fields"]
    assert_nothing_written()


def test_a_malformed_from_handle_is_invalid_handle(sender):
    assert_error(
        post_message(sender, to="+14155550199", text="hi", from_handle="12345"),
        400,
        "invalid_handle",
    )
    assert_nothing_written()


def test_forcing_whatsapp_without_a_session_is_invalid_from_handle(sender):
    response = post_message(sender, to="+14155550199", text="hi", channel="whatsapp")
    assert_error(response, 400, "invalid_from_handle")
    assert_nothing_written()


def test_an_unknown_channel_is_invalid(sender):
    body = assert_error(
        post_message(sender, to="+14155550199", text="hi", channel="fax"), 400, "invalid_request"
    )
    assert "channel" in body["fields"]


def test_an_unknown_attachment_is_invalid_attachments(sender):
    response = post_message(sender, to="+14155550199", attachments=["att_doesnotexist"])
    assert_error(response, 400, "invalid_attachments")
    assert_nothing_written()


def test_more_than_20_metadata_keys_is_invalid(sender):
    metadata = {f"k{i}": "v" for i in range(21)}
    body = assert_error(
        post_message(sender, to="+14155550199", text="hi", metadata=metadata),
        400,
        "invalid_request",
    )
    assert "metadata" in body["fields"]
    assert_nothing_written()


def test_metadata_values_must_be_strings(sender):
    body = assert_error(
        post_message(sender, to="+14155550199", text="hi", metadata={"n": {"deep": 1}}),
        400,
        "invalid_request",
    )
    assert any(name.startswith("metadata") for name in body["fields"])


def test_an_effect_on_sms_is_invalid(sender):
    response = post_message(sender, to="+14155550199", text="hi", channel="sms", effect="confetti")
    body = assert_error(response, 400, "invalid_request")
    assert "effect" in body["fields"]
    assert_nothing_written()


def test_sms_to_an_email_is_invalid_handle(sender):
    assert_error(
        post_message(sender, to="friend@example.com", text="hi", channel="sms"),
        400,
        "invalid_handle",
    )
    assert_nothing_written()


def test_another_accounts_chat_is_invalid(sender, charlie, charlie_device):
    chat_id = charlie.client.post(
        "/v1/messages", {"to": "+14155550199", "text": "x"}, format="json"
    ).json()["data"]["chat_id"]
    body = assert_error(post_message(sender, chat_id=chat_id, text="hi"), 400, "invalid_request")
    assert "chat_id" in body["fields"]
    assert Message.objects.filter(account=sender.account).count() == 0


def test_an_account_without_handles_cannot_send(alice):
    assert_error(post_message(alice, to="+14155550199", text="hi"), 400, "invalid_from_handle")
    assert_nothing_written()


def test_a_reply_to_an_unknown_message_is_invalid(sender):
    body = assert_error(
        post_message(sender, to="+14155550199", text="hi", reply_to="msg_nope"),
        400,
        "invalid_request",
    )
    assert "reply_to" in body["fields"]
    assert_nothing_written()
