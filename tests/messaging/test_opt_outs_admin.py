"""Operators add and remove opt-outs in admin: `source: operator`, through the service (what
waits fails, the account's webhooks hear of it), audited."""

from __future__ import annotations

from accounts.models import AuditEntry
from messaging.models import Message, OptOut
from messaging.services import opt_outs
from tests.conftest import send
from webhooks.models import Event

THEM = "+14155550199"


def test_an_operator_adds_an_opt_out_with_source_operator_and_it_is_audited(
    operator, alice, alice_device
):
    waiting = send(alice, to=THEM, text="queued")
    response = operator.post(
        "/admin/messaging/optout/add/",
        {"account": alice.account.pk, "recipient": THEM, "reason": "complaint by phone"},
    )
    assert response.status_code == 302, response.content
    opt_out = OptOut.objects.get(account=alice.account)
    assert (opt_out.recipient, opt_out.source, opt_out.reason) == (
        THEM,
        "operator",
        "complaint by phone",
    )
    assert Message.objects.get(pk=waiting["id"]).error_code == "recipient_opted_out"
    assert Event.objects.get(type="contact.opted_out").data["source"] == "operator"
    assert AuditEntry.objects.filter(action="add", object_id=str(opt_out.pk)).exists()


def test_an_operator_cannot_add_a_malformed_recipient(operator, alice):
    response = operator.post(
        "/admin/messaging/optout/add/", {"account": alice.account.pk, "recipient": "nobody"}
    )
    assert response.status_code == 200
    assert not OptOut.objects.exists()


def test_an_operator_removes_an_opt_out_and_the_recipient_is_opted_in(operator, alice):
    opt_out = opt_outs.opt_out_add(account=alice.account, recipient=THEM, source="api").opt_out
    response = operator.post(f"/admin/messaging/optout/{opt_out.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not OptOut.objects.exists()
    assert Event.objects.get(type="contact.opted_in").data["source"] == "operator"
    assert AuditEntry.objects.filter(action="delete", object_id=str(opt_out.pk)).exists()


def test_the_list_shows_every_accounts_opt_outs(operator, alice, charlie):
    opt_outs.opt_out_add(account=alice.account, recipient=THEM, source="api")
    opt_outs.opt_out_add(account=charlie.account, recipient="+14155550198", source="keyword")
    page = operator.get("/admin/messaging/optout/").content.decode()
    assert THEM in page
    assert "+14155550198" in page
