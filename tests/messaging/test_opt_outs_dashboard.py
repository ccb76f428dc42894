"""The dashboard's Opt-outs page: the list (newest first, paged, filtered by recipient), adding
and removing through the opt-out service, who may do what, and another account's rows."""

from __future__ import annotations

import re

import pytest

from messaging.models import Message, OptOut
from messaging.services import opt_outs
from tests.conftest import send, signed_in
from webhooks.models import Event

THEM = "+14155550199"


def page_of(tenant):
    return f"/dashboard/{tenant.account.pk}/opt-outs/"


def remove_url(tenant, recipient):
    return f"/dashboard/{tenant.account.pk}/opt-outs/{recipient}/remove/"


def opt_out(tenant, recipient, reason="", source=OptOut.Source.API):
    return opt_outs.opt_out_add(
        account=tenant.account, recipient=recipient, source=source, reason=reason
    ).opt_out


def listed(response) -> list[str]:
    """The recipients in the page's table, top to bottom."""
    return re.findall(
        r'<th scope="row" id="opt-out-\d+" class="mono">([^<]+)</th>', response.content.decode()
    )


@pytest.fixture
def owner(alice):
    return signed_in(alice.account, "owner")


@pytest.fixture
def developer(alice):
    return signed_in(alice.account, "developer")


@pytest.fixture
def viewer(alice):
    return signed_in(alice.account, "viewer")


def test_the_page_lists_the_accounts_opt_outs_newest_first(alice, owner):
    opt_out(alice, "+14155550190", reason="asked by phone")
    opt_out(alice, "+14155550191", source=OptOut.Source.KEYWORD, reason="Stop")
    response = owner.get(page_of(alice))
    assert response.status_code == 200
    assert listed(response) == ["+14155550191", "+14155550190"]
    page = response.content.decode()
    assert "asked by phone" in page
    assert "Keyword" in page


def test_the_list_pages_back_with_a_cursor(alice, owner):
    for n in range(3):
        opt_out(alice, f"+1415555019{n}")
    first = owner.get(page_of(alice), {"limit": 2})
    assert listed(first) == ["+14155550192", "+14155550191"]
    cursor = re.search(r'cursor=([^"&]+)"', first.content.decode())
    assert cursor is not None
    rest = owner.get(page_of(alice), {"limit": 2, "cursor": cursor.group(1)})
    assert listed(rest) == ["+14155550190"]
    assert "Older opt-outs" not in rest.content.decode()


def test_a_cursor_that_is_not_ours_is_a_bad_request(alice, owner):
    assert owner.get(page_of(alice), {"cursor": "not-a-cursor"}).status_code == 400


def test_the_filter_finds_one_recipient_written_any_accepted_way(alice, owner):
    opt_out(alice, "someone@example.com")
    opt_out(alice, THEM)
    response = owner.get(page_of(alice), {"recipient": "Someone@Example.com"})
    assert listed(response) == ["someone@example.com"]


def test_a_filter_by_an_invalid_number_shows_the_error_and_lists_nobody(alice, owner):
    opt_out(alice, THEM)
    response = owner.get(page_of(alice), {"recipient": "12345"})
    assert response.status_code == 400
    assert b"not a valid E.164" in response.content
    assert listed(response) == []


def test_a_developer_adds_an_opt_out_with_source_api_and_its_event(alice, developer):
    response = developer.post(page_of(alice), {"recipient": THEM, "reason": "by phone"})
    assert response.status_code == 302
    assert response["Location"] == page_of(alice)
    row = OptOut.objects.get(account=alice.account)
    assert (row.recipient, row.source, row.reason) == (THEM, "api", "by phone")
    assert Event.objects.get(type="contact.opted_out").data["recipient"] == THEM
    assert "opted out" in developer.get(page_of(alice)).content.decode()


def test_adding_an_opt_out_fails_what_still_waits_to_go_to_them(alice, alice_device, owner):
    waiting = send(alice, to=THEM, text="queued before")
    owner.post(page_of(alice), {"recipient": THEM})
    failed = Message.objects.get(pk=waiting["id"])
    assert (failed.status, failed.error_code) == ("failed", "recipient_opted_out")


def test_adding_someone_already_opted_out_changes_nothing(alice, owner):
    first = opt_out(alice, THEM, reason="first")
    response = owner.post(page_of(alice), {"recipient": THEM, "reason": "second"}, follow=True)
    assert "had already opted out" in response.content.decode()
    assert list(OptOut.objects.values_list("pk", "reason")) == [(first.pk, "first")]
    assert Event.objects.filter(type="contact.opted_out").count() == 1


def test_adding_an_invalid_number_shows_the_form_error_and_changes_nothing(alice, owner):
    response = owner.post(page_of(alice), {"recipient": "12345", "reason": "x"})
    assert response.status_code == 400
    assert b"not a valid E.164" in response.content
    assert not OptOut.objects.exists()
    assert not Event.objects.filter(type="contact.opted_out").exists()


def test_removing_asks_first_then_opts_them_back_in(alice, owner):
    opt_out(alice, THEM, reason="asked by phone")
    confirm = owner.get(remove_url(alice, THEM))
    assert confirm.status_code == 200
    assert b"Remove opt-out" in confirm.content
    assert OptOut.objects.exists()

    response = owner.post(remove_url(alice, THEM))
    assert response.status_code == 302
    assert not OptOut.objects.exists()
    event = Event.objects.get(type="contact.opted_in")
    assert (event.data["recipient"], event.data["source"]) == (THEM, "api")


def test_removing_someone_who_has_not_opted_out_is_a_404(alice, owner):
    assert owner.post(remove_url(alice, THEM)).status_code == 404
    assert owner.post(remove_url(alice, "not-an-address")).status_code == 404


def test_a_viewer_reads_the_list_without_the_forms(alice, viewer):
    opt_out(alice, THEM)
    response = viewer.get(page_of(alice))
    assert response.status_code == 200
    assert listed(response) == [THEM]
    page = response.content.decode()
    assert "Add opt-out" not in page
    assert "/remove/" not in page


def test_a_viewer_may_neither_add_nor_remove(alice, viewer):
    opt_out(alice, THEM)
    assert viewer.post(page_of(alice), {"recipient": "+14155550190"}).status_code == 403
    assert viewer.get(remove_url(alice, THEM)).status_code == 403
    assert viewer.post(remove_url(alice, THEM)).status_code == 403
    assert list(OptOut.objects.values_list("recipient", flat=True)) == [THEM]


def test_another_accounts_opt_outs_never_appear(alice, charlie, owner):
    opt_out(charlie, "+14155550188")
    opt_out(alice, THEM)
    assert listed(owner.get(page_of(alice))) == [THEM]
    assert listed(owner.get(page_of(alice), {"recipient": "+14155550188"})) == []


def test_removing_another_accounts_recipient_is_a_404_and_keeps_it(alice, charlie, owner):
    opt_out(charlie, "+14155550188")
    assert owner.get(remove_url(alice, "+14155550188")).status_code == 404
    assert owner.post(remove_url(alice, "+14155550188")).status_code == 404
    assert OptOut.objects.filter(account=charlie.account).exists()


def test_another_accounts_page_is_a_404(alice, charlie, owner):
    assert owner.get(page_of(charlie)).status_code == 404
    assert owner.post(page_of(charlie), {"recipient": THEM}).status_code == 404
    assert not OptOut.objects.exists()


def test_a_message_that_failed_for_an_opt_out_links_to_it(alice, alice_device, owner):
    waiting = send(alice, to=THEM, text="queued before")
    opt_out(alice, THEM)
    page = owner.get(f"/dashboard/{alice.account.pk}/messages/{waiting['id']}/").content.decode()
    assert f'href="{page_of(alice)}?recipient=%2B14155550199"' in page


def test_the_page_is_a_fixed_number_of_queries(alice, owner, django_assert_max_num_queries):
    for n in range(60):
        opt_out(alice, f"+141555502{n:02d}", reason=f"reason {n}")
    with django_assert_max_num_queries(8):
        assert owner.get(page_of(alice)).status_code == 200
