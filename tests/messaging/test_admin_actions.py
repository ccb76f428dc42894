"""Messages in admin: retry failed ones and cancel queued ones, each with a result message
and an audit row."""

from __future__ import annotations

from accounts.models import AuditEntry
from messaging.models import Message
from messaging.services import lifecycle
from tests.conftest import send
from tests.operator_support import result_messages, run_action

MESSAGES = "/admin/messaging/message/"


def test_canceling_queued_messages_fails_them_as_canceled_and_is_audited(operator, alice, online):
    queued = send(alice, to="+14155550199", text="never mind")
    response = run_action(operator, MESSAGES, "cancel", [queued["id"]])
    assert response.status_code == 302
    message = Message.objects.get(pk=queued["id"])
    assert (message.status, message.error_code) == ("failed", "canceled")
    assert result_messages(operator.get(MESSAGES)) == ["1 message(s) canceled."]
    assert list(AuditEntry.objects.values_list("action", "object_id", "account_id", "changes")) == [
        ("message.cancel", queued["id"], alice.account.pk, {"status": ["queued", "failed"]})
    ]


def test_canceling_a_message_that_is_not_queued_changes_nothing_and_says_why(
    operator, alice, online
):
    queued = send(alice, to="+14155550199", text="x")
    lifecycle.message_cancel(message=Message.objects.get(pk=queued["id"]))
    run_action(operator, MESSAGES, "cancel", [queued["id"]])
    assert result_messages(operator.get(MESSAGES)) == [
        f"{queued['id']}: it is failed, not queued.",
        "0 message(s) canceled.",
    ]
    assert not AuditEntry.objects.exists()


def test_retrying_failed_messages_queues_them_again_and_is_audited(operator, alice, online):
    queued = send(alice, to="+14155550199", text="again")
    lifecycle.message_cancel(message=Message.objects.get(pk=queued["id"]))
    run_action(operator, MESSAGES, "retry", [queued["id"]])
    assert Message.objects.get(pk=queued["id"]).status == "queued"
    assert result_messages(operator.get(MESSAGES)) == ["1 message(s) queued again."]
    assert list(AuditEntry.objects.values_list("operator_name", "action", "object_id")) == [
        ("operator", "message.retry", queued["id"])
    ]
