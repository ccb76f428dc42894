"""`/v1/opt-outs`: list (paged, filtered), add (201, or 200 when it exists), remove (the
removed row, or 404), scoped to the account; what an API opt-out does to sends."""

from __future__ import annotations

from messaging.models import Message, OptOut
from messaging.services import opt_outs
from tests.conftest import assert_error, post_message, send
from webhooks.models import Event

THEM = "+14155550199"


def add(tenant, **body):
    return tenant.client.post("/v1/opt-outs", body, format="json")


def test_adding_an_opt_out_is_created_with_source_api(alice):
    response = add(alice, recipient=THEM, reason="asked by phone")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["data"] == {
        "recipient": THEM,
        "source": "api",
        "reason": "asked by phone",
        "created_at": body["data"]["created_at"],
    }
    assert body["request_id"] == response["X-Request-Id"]
    event = Event.objects.get(type="contact.opted_out")
    assert (event.data["source"], event.data["handle"], event.data["message_id"]) == (
        "api",
        None,
        None,
    )


def test_adding_an_existing_opt_out_returns_it_unchanged(alice):
    first = add(alice, recipient=THEM, reason="first")
    again = add(alice, recipient=THEM, reason="second")
    assert again.status_code == 200
    assert again.json()["data"] == first.json()["data"]
    assert Event.objects.filter(type="contact.opted_out").count() == 1


def test_an_added_opt_out_refuses_sends_and_fails_what_waits(alice, alice_device):
    waiting = send(alice, to=THEM, text="queued")
    add(alice, recipient=THEM)
    assert Message.objects.get(pk=waiting["id"]).error_code == "recipient_opted_out"
    assert_error(post_message(alice, to=THEM, text="again"), 409, "recipient_opted_out")


def test_removing_an_opt_out_returns_it_and_sends_work_again(alice, alice_device):
    add(alice, recipient=THEM)
    response = alice.client.delete("/v1/opt-outs/%2B14155550199")
    assert response.status_code == 200
    assert response.json()["data"]["recipient"] == THEM
    assert not OptOut.objects.exists()
    event = Event.objects.get(type="contact.opted_in")
    assert (event.data["recipient"], event.data["source"]) == (THEM, "api")
    assert send(alice, to=THEM, text="welcome back")["status"] == "queued"


def test_removing_someone_who_has_not_opted_out_is_not_found(alice):
    assert_error(alice.client.delete("/v1/opt-outs/%2B14155550199"), 404, "not_found")


def test_the_list_is_newest_first_and_paged(alice):
    for n in range(3):
        add(alice, recipient=f"+1415555019{n}")
    first = alice.client.get("/v1/opt-outs", {"limit": 2}).json()
    assert [row["recipient"] for row in first["data"]] == ["+14155550192", "+14155550191"]
    assert first["has_more"] is True
    rest = alice.client.get("/v1/opt-outs", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [row["recipient"] for row in rest["data"]] == ["+14155550190"]
    assert rest["has_more"] is False


def test_the_list_filters_by_recipient_normalized(alice):
    add(alice, recipient="Someone@Example.com")
    add(alice, recipient=THEM)
    found = alice.client.get("/v1/opt-outs", {"recipient": "SOMEONE@example.com"}).json()["data"]
    assert [row["recipient"] for row in found] == ["someone@example.com"]


def test_an_unknown_field_or_parameter_is_refused(alice):
    assert_error(add(alice, recipient=THEM, until="never"), 400, "invalid_request")
    assert_error(alice.client.get("/v1/opt-outs", {"who": THEM}), 400, "invalid_request")
    assert_error(add(alice, recipient="not a number"), 400, "invalid_handle")
    assert_error(add(alice, recipient=THEM, reason=5), 400, "invalid_request")


def test_an_idempotency_key_replays_the_first_answer(alice):
    headers = {"HTTP_IDEMPOTENCY_KEY": "opt-out-1"}
    first = alice.client.post("/v1/opt-outs", {"recipient": THEM}, format="json", **headers)
    again = alice.client.post("/v1/opt-outs", {"recipient": THEM}, format="json", **headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content


def test_another_accounts_opt_outs_are_invisible_and_do_not_apply(alice, alice_device, charlie):
    opt_outs.opt_out_add(account=charlie.account, recipient=THEM, source="api")
    assert alice.client.get("/v1/opt-outs").json()["data"] == []
    assert_error(alice.client.delete(f"/v1/opt-outs/{THEM}"), 404, "not_found")
    assert send(alice, to=THEM, text="not charlie's business")["status"] == "queued"
    assert OptOut.objects.filter(account=charlie.account).count() == 1
