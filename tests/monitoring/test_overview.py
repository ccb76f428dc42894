"""The admin index is the operators' overview: each card lists what it is about, and only
that, from a seeded state, and links to the filtered changelist."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from handles import services as handle_services
from messaging.models import Message
from messaging.services import lifecycle
from tests.monitoring.conftest import card, handle_of, queued, silent_device, stuck_sending
from webhooks import services as webhook_services
from webhooks.models import WebhookEndpoint

KEYS = ("handles-offline", "queues", "failures", "stuck-sending", "endpoints", "devices")


def overview(operator) -> str:
    response = operator.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def links(fragment: str) -> list[str]:
    return [html_lib.unescape(href) for href in re.findall(r'href="([^"]+)"', fragment)]


def test_an_offline_handle_is_listed_with_when_it_went_offline(operator, alice):
    handle_of(alice, "+14155550101", online=True)
    offline = handle_of(alice, "+14155550102")
    offline.status_changed_at = timezone.now() - timedelta(minutes=42)
    offline.save(update_fields=["status_changed_at"])
    found = card(overview(operator), "handles-offline")
    assert "+14155550102" in found
    assert "42\xa0minutes ago" in found
    assert "+14155550101" not in found


def test_the_offline_card_links_to_the_offline_handles(operator, alice):
    handle_of(alice, "+14155550102")
    link = links(card(overview(operator), "handles-offline"))[0]
    response = operator.get(link)
    assert response.status_code == 200
    assert "+14155550102" in response.content.decode()
    assert parse_qs(urlparse(link).query)["status__exact"] == ["offline"]


@pytest.mark.django_db
def test_a_handle_with_a_deep_queue_is_listed_with_its_depth(operator, alice, settings):
    settings.SWITCHBOARD_OVERVIEW_QUEUE_DEPTH = 2
    deep = handle_of(alice, "+14155550103", online=True)
    shallow = handle_of(alice, "+14155550104", online=True)
    queued(alice, deep, 3)
    queued(alice, shallow, 2)
    found = card(overview(operator), "queues")
    assert "+14155550103" in found
    assert re.search(r">3</a>", found)
    assert "+14155550104" not in found


def test_a_handle_whose_oldest_message_waited_too_long_is_listed(operator, alice, settings):
    settings.SWITCHBOARD_OVERVIEW_QUEUE_AGE_MINUTES = 10
    old = handle_of(alice, "+14155550105", online=True)
    fresh = handle_of(alice, "+14155550106", online=True)
    (first,) = queued(alice, old, 1)
    queued(alice, fresh, 1)
    Message.objects.filter(pk=first).update(queued_at=timezone.now() - timedelta(minutes=11))
    found = card(overview(operator), "queues")
    assert "+14155550105" in found
    assert "+14155550106" not in found


def test_failures_of_the_last_hour_are_grouped_by_code_and_account(operator, alice, charlie):
    alice_handle = handle_of(alice, "+14155550107", online=True)
    charlie_handle = handle_of(charlie, "+14155550108", online=True)
    for message_id in queued(alice, alice_handle, 2):
        lifecycle.message_cancel(message=Message.objects.get(pk=message_id))
    (expired,) = queued(charlie, charlie_handle, 1)
    lifecycle.message_expire(Message.objects.get(pk=expired), source="sweeper")
    (long_ago,) = queued(charlie, charlie_handle, 1)
    lifecycle.message_cancel(message=Message.objects.get(pk=long_ago))
    Message.objects.filter(pk=long_ago).update(failed_at=timezone.now() - timedelta(hours=2))
    found = card(overview(operator), "failures")
    rows = re.findall(r"<tr>(.*?)</tr>", found, re.S)
    cells = [re.findall(r"<td[^>]*>(?:<a [^>]*>)?(.*?)(?:</a>)?</td>", row) for row in rows]
    assert [row[:3] for row in cells if row] == [
        ["canceled", "Alice Co", "2"],
        ["expired", "Charlie Ltd", "1"],
    ]


def test_a_failure_group_links_to_exactly_its_messages(operator, alice, charlie):
    alice_handle = handle_of(alice, "+14155550107", online=True)
    charlie_handle = handle_of(charlie, "+14155550108", online=True)
    canceled = queued(alice, alice_handle, 2)
    for message_id in canceled:
        lifecycle.message_cancel(message=Message.objects.get(pk=message_id))
    (other,) = queued(charlie, charlie_handle, 1)
    lifecycle.message_cancel(message=Message.objects.get(pk=other))
    found = card(overview(operator), "failures")
    group_link = next(
        link for link in links(found) if "error_code=canceled" in link and alice.account.pk in link
    )
    page = operator.get(group_link).content.decode()
    assert all(message_id in page for message_id in canceled)
    assert other not in page


def test_a_message_in_sending_past_the_sync_timeout_is_listed(operator, alice, settings):
    settings.SWITCHBOARD_SYNC_ACTION_TIMEOUT = 10
    handle = handle_of(alice, "+14155550109", online=True)
    stuck, recent = queued(alice, handle, 2)
    stuck_sending(handle, stuck, seconds_ago=60)
    stuck_sending(handle, recent, seconds_ago=2)
    found = card(overview(operator), "stuck-sending")
    assert stuck in found
    assert recent not in found


def test_failing_and_disabled_endpoints_are_listed(operator, alice):
    _healthy, failing, disabled = (
        webhook_services.webhook_endpoint_create(
            account=alice.account, url=f"https://{name}.example.com/hook", events=["*"]
        )
        for name in ("healthy", "failing", "disabled")
    )
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        failing_since=timezone.now() - timedelta(hours=3)
    )
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(
        enabled=False, disabled_reason="The endpoint answered 410 Gone."
    )
    found = card(overview(operator), "endpoints")
    assert "failing.example.com" in found
    assert "3\xa0hours ago" in found
    assert "disabled.example.com" in found
    assert "The endpoint answered 410 Gone." in found
    assert "healthy.example.com" not in found


def test_the_failing_endpoints_link_lists_only_failing_ones(operator, alice):
    _healthy, failing = (
        webhook_services.webhook_endpoint_create(
            account=alice.account, url=f"https://{name}.example.com/hook", events=["*"]
        )
        for name in ("healthy", "failing")
    )
    WebhookEndpoint.objects.filter(pk=failing.pk).update(failing_since=timezone.now())
    link = links(card(overview(operator), "endpoints"))[0]
    page = operator.get(link).content.decode()
    assert "failing.example.com" in page
    assert "healthy.example.com" not in page


def test_devices_that_have_not_called_in_are_listed(operator, alice, settings):
    settings.SWITCHBOARD_DEVICE_OFFLINE_AFTER = 60
    quiet = silent_device(handle_of(alice, "+14155550110"), seconds_ago=600)
    never = silent_device(handle_of(alice, "+14155550111"), seconds_ago=None)
    calling = silent_device(handle_of(alice, "+14155550112"), seconds_ago=5)
    found = card(overview(operator), "devices")
    assert quiet.id in found
    assert never.id in found
    assert calling.id not in found


def test_a_card_shows_at_most_its_row_limit_and_says_there_are_more(operator, alice, settings):
    settings.SWITCHBOARD_OVERVIEW_ROWS = 2
    for n in range(3):
        handle_of(alice, f"+1415555012{n}")
    found = card(overview(operator), "handles-offline")
    assert len(re.findall(r"<tr>", found)) == 1 + 2  # the header and two rows
    assert "More in the list" in found


def test_the_overview_keeps_the_list_of_apps_below_its_cards(operator, alice):
    page = overview(operator)
    assert page.index('id="card-devices"') < page.index('class="app-messaging')


def test_the_overview_runs_the_same_queries_whatever_the_number_of_rows(operator, alice):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            overview(operator)
        return len(captured)

    handle = handle_of(alice, "+14155550130")
    queued(alice, handle, 1)
    few = queries()
    for n in range(5):
        other = handle_of(alice, f"+1415555014{n}")
        silent_device(other, seconds_ago=None)
        for message_id in queued(alice, other, 2):
            lifecycle.message_cancel(message=Message.objects.get(pk=message_id))
    assert queries() == few


def test_every_overview_query_of_the_messages_table_has_an_index_to_read(operator, alice):
    """With sequential scans priced out, PostgreSQL finds an index for each query: none
    reads the whole messages table (a seed this small would otherwise never use one)."""
    handle_of(alice, "+14155550150")
    with CaptureQueriesContext(connection) as captured:
        overview(operator)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            if "messaging_message" in query["sql"] and query["sql"].startswith("SELECT"):
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert len(plans) >= 3  # queues, failures, stuck in sending
    assert not [plan for plan in plans if "Seq Scan on messaging_message" in plan]


def test_a_paused_handle_with_a_waiting_queue_is_marked_paused(operator, alice, settings):
    settings.SWITCHBOARD_OVERVIEW_QUEUE_DEPTH = 1
    handle = handle_of(alice, "+14155550170", online=True)
    queued(alice, handle, 2)
    handle_services.handle_pause(handle=handle)
    assert "+14155550170 (paused)" in card(overview(operator), "queues")


def test_a_staff_member_sees_only_the_cards_of_what_they_may_view(alice):
    handle_of(alice, "+14155550171")
    user = get_user_model().objects.create_user(
        "support", "support@example.com", "pw", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_handle"))
    client = Client()
    client.force_login(user)
    page = overview(client)
    assert "+14155550171" in card(page, "handles-offline")
    assert 'id="card-failures"' not in page
    assert 'id="card-endpoints"' not in page
    assert 'id="card-devices"' not in page


def test_every_link_of_every_card_opens_its_page(operator, alice, settings):
    """The admin refuses a filter it does not allow with a redirect to `?e=1`: none does."""
    settings.SWITCHBOARD_OVERVIEW_QUEUE_DEPTH = 1
    handle = handle_of(alice, "+14155550172", online=True)
    first, second, _third = queued(alice, handle, 3)
    stuck_sending(handle, first, seconds_ago=600)
    lifecycle.message_cancel(message=Message.objects.get(pk=second))
    silent_device(handle_of(alice, "+14155550173"), seconds_ago=600)
    endpoint = webhook_services.webhook_endpoint_create(
        account=alice.account, url="https://failing.example.com/hook", events=["*"]
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    page = overview(operator)
    urls = {link for key in KEYS for link in links(card(page, key))}
    assert len(urls) > len(KEYS)
    for url in sorted(urls):
        response = operator.get(url)
        assert response.status_code == 200, url


def test_the_stuck_in_sending_link_lists_only_the_stuck_messages(operator, alice):
    handle = handle_of(alice, "+14155550174", online=True)
    stuck, recent = queued(alice, handle, 2)
    stuck_sending(handle, stuck, seconds_ago=600)
    stuck_sending(handle, recent, seconds_ago=1)
    link = links(card(overview(operator), "stuck-sending"))[0]
    page = operator.get(link).content.decode()
    assert stuck in page
    assert recent not in page
