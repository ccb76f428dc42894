"""A chat's `last_message_at` is the time of its newest message, however the send was made
(with an Idempotency-Key the chat is marked last in the transaction: contract.transactions)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Chat, Message
from tests.conftest import post_message


@pytest.mark.parametrize("idempotency_keys", [("first", "second"), (None, None)])
def test_a_send_into_a_chat_marks_it_used_at_the_new_message(alice, alice_device, idempotency_keys):
    for key, text in zip(idempotency_keys, ("one", "two"), strict=True):
        response = post_message(alice, idempotency_key=key, to="+14155550199", text=text)
        assert response.status_code == 202
    chat = Chat.objects.get()
    newest = Message.objects.get(text="two")
    assert chat.last_message_at == newest.created_at


def test_a_chat_marked_later_is_not_marked_back(alice, alice_device):
    assert post_message(alice, idempotency_key="a", to="+14155550199", text="one").status_code
    later = timezone.now() + timedelta(minutes=5)
    Chat.objects.update(last_message_at=later)
    assert post_message(alice, idempotency_key="b", to="+14155550199", text="two").status_code
    assert Chat.objects.get().last_message_at == later
