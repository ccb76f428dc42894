"""The webhooks dashboard's actions (test, rotate, enable, edit, delete, redeliver), its
markup, paging and cost."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.webhooks.dashboard_support import (
    delivery_url,
    endpoint_url,
    errors_of,
    form,
    make_endpoint,
    text,
    url,
)
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

# --- actions on an endpoint ----------------------------------------------------------------


def test_sending_a_test_event_shows_its_delivery_in_the_log(alice, developer):
    endpoint = make_endpoint(alice.account)
    response = developer.post(endpoint_url(endpoint, "dashboard-webhook-test"), follow=True)
    assert response.redirect_chain == [(endpoint_url(endpoint), 302)]
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.type == "webhook.test"
    page = text(response)
    assert "Test event sent" in page
    assert f'href="{delivery_url(delivery)}">webhook.test</a>' in page
    assert f"<code>{delivery.event_id}</code>" in page
    assert '<span class="badge pending">Pending</span>' in page


def test_actions_only_answer_a_post(alice, developer):
    endpoint = make_endpoint(alice.account)
    for name in (
        "dashboard-webhook-test",
        "dashboard-webhook-rotate-secret",
        "dashboard-webhook-enable",
        "dashboard-webhook-disable",
    ):
        assert developer.get(endpoint_url(endpoint, name)).status_code == 405
    assert not WebhookDelivery.objects.exists()


def test_the_delivery_page_shows_the_event_body_and_every_attempt(alice, developer, receiver):
    receiver.statuses = [503]
    endpoint = make_endpoint(alice.account, receiver.url)
    delivery = services.webhook_endpoint_test(endpoint=endpoint)
    assert services.webhook_deliver(delivery_id=delivery.pk) == "failed"

    page = text(developer.get(delivery_url(delivery)))
    assert f"<code>{delivery.event_id}</code>" in page
    assert "&quot;type&quot;: &quot;webhook.test&quot;," in page  # pretty-printed, escaped
    assert f"&quot;webhook_id&quot;: &quot;{endpoint.pk}&quot;" in page
    assert '<pre class="excerpt">{&quot;ok&quot;: true}</pre>' in page
    assert re.search(r'<th scope="row" class="num">1</th>', page)
    assert '<td class="num">503 <span class="badge failed">Failed</span></td>' in page

    log = text(developer.get(endpoint_url(endpoint)))
    assert '<td class="num">503</td>' in log  # the last attempt's status code
    assert "Next attempt" in log


def test_redelivering_makes_one_more_attempt_with_the_same_webhook_id(alice, developer, receiver):
    endpoint = make_endpoint(alice.account, receiver.url)
    delivery = services.webhook_endpoint_test(endpoint=endpoint)
    assert services.webhook_deliver(delivery_id=delivery.pk) == "succeeded"

    response = developer.post(delivery_url(delivery, "dashboard-webhook-redeliver"), follow=True)
    assert response.redirect_chain == [(delivery_url(delivery), 302)]
    assert "Redelivery queued" in text(response)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"
    # The worker's part: the task the redelivery enqueued.
    assert services.webhook_deliver(delivery_id=delivery.pk) == "succeeded"

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event_id
    page = text(developer.get(delivery_url(delivery)))
    assert page.count('<span class="badge succeeded">Succeeded</span>') == 3  # status, 2 tries


def test_rotating_reveals_the_new_secret_once(alice, developer):
    endpoint = make_endpoint(alice.account)
    response = developer.post(
        endpoint_url(endpoint, "dashboard-webhook-rotate-secret"), follow=True
    )
    rotated = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert rotated.secret != endpoint.secret
    assert rotated.previous_secret == endpoint.secret
    page = text(response)
    assert f'<code id="revealed-secret">{rotated.secret}</code>' in page
    assert endpoint.secret not in page
    assert "keeps signing, beside the new one, for 24 hours" in page
    assert "Previous secret" in page

    assert rotated.secret not in text(developer.get(endpoint_url(endpoint)))


def test_disabling_and_enabling_an_endpoint(alice, developer):
    endpoint = make_endpoint(alice.account)
    page = text(developer.post(endpoint_url(endpoint, "dashboard-webhook-disable"), follow=True))
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).enabled
    assert '<span class="badge disabled">Disabled</span>' in page
    assert "Enable endpoint" in page

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="Every attempt failed.")
    page = text(developer.post(endpoint_url(endpoint, "dashboard-webhook-enable"), follow=True))
    enabled = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (enabled.enabled, enabled.disabled_reason) == (True, "")
    assert '<span class="badge enabled">Enabled</span>' in page
    assert "Disable endpoint" in page


def test_editing_changes_only_what_was_changed(alice, developer):
    endpoint = make_endpoint(alice.account, events=["message.sent"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=endpoint.created_at)
    edit = endpoint_url(endpoint, "dashboard-webhook-edit")
    page = text(developer.get(edit))
    assert re.search(r'value="message.sent"[^>]*checked', page)
    assert not re.search(r'value="\*"[^>]*checked', page)

    response = developer.post(
        edit,
        form(url=endpoint.url, description="Staging", events=["message.sent"]),
        follow=True,
    )
    assert response.redirect_chain == [(endpoint_url(endpoint), 302)]
    edited = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert edited.description == "Staging"
    # `enabled` was on and stayed on: it was not re-sent, so the failure clock runs on.
    assert edited.failing_since == endpoint.created_at


def test_editing_to_an_invalid_url_shows_the_error_and_keeps_the_old_url(alice, developer):
    endpoint = make_endpoint(alice.account)
    response = developer.post(
        endpoint_url(endpoint, "dashboard-webhook-edit"), form(url="ftp://example.com/")
    )
    assert response.status_code == 200
    assert errors_of(text(response), "id_url") == ["Must use http or https."]
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == endpoint.url


def test_deleting_needs_the_confirmation_post(alice, developer):
    endpoint = make_endpoint(alice.account)
    confirm = developer.get(endpoint_url(endpoint, "dashboard-webhook-delete"))
    assert confirm.status_code == 200
    assert f"<h1>Delete {endpoint.url}?</h1>" in text(confirm)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()

    response = developer.post(endpoint_url(endpoint, "dashboard-webhook-delete"), follow=True)
    assert response.redirect_chain == [(url("dashboard-webhooks", alice.account), 302)]
    assert f"Endpoint {endpoint.url} deleted." in text(response)
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert developer.get(endpoint_url(endpoint)).status_code == 404


# --- markup, paging and cost ---------------------------------------------------------------


def test_every_form_that_posts_carries_a_csrf_token(alice, developer):
    endpoint = make_endpoint(alice.account)
    delivery = services.webhook_endpoint_test(endpoint=endpoint)
    for page_url in (
        url("dashboard-webhook-new", alice.account),
        endpoint_url(endpoint),
        endpoint_url(endpoint, "dashboard-webhook-edit"),
        endpoint_url(endpoint, "dashboard-webhook-delete"),
        delivery_url(delivery),
    ):
        page = text(developer.get(page_url))
        forms = re.findall(r'<form[^>]*method="post".*?</form>', page, re.S)
        assert forms, page_url
        assert all("csrfmiddlewaretoken" in f for f in forms), page_url
        assert "<script>" not in page
        assert " style=" not in page
        assert " onclick=" not in page


def test_the_delivery_log_pages_from_newest_to_oldest(alice, developer):
    endpoint = make_endpoint(alice.account)
    deliveries = [services.webhook_endpoint_test(endpoint=endpoint) for _ in range(3)]
    first = text(developer.get(endpoint_url(endpoint), {"limit": 2}))
    assert [d.event_id in first for d in deliveries] == [False, True, True]
    older = re.search(r'<a href="\?([^"]*cursor=[^"]+)">Older deliveries</a>', first)
    assert older

    second = text(
        developer.get(endpoint_url(endpoint) + "?" + older.group(1).replace("&amp;", "&"))
    )
    assert [d.event_id in second for d in deliveries] == [True, False, False]
    assert "Older deliveries" not in second
    assert ">Newest</a>" in second


def test_a_cursor_that_is_not_ours_is_a_bad_request(alice, developer):
    endpoint = make_endpoint(alice.account)
    response = developer.get(endpoint_url(endpoint), {"cursor": "not-a-cursor"})
    assert response.status_code == 400


def queries_of(client, page_url):
    """How many queries the page costs (once warm: the first request fills caches)."""
    client.get(page_url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(page_url).status_code == 200
    return len(captured)


def test_the_endpoint_page_costs_the_same_queries_with_200_deliveries(
    alice, developer, receiver, django_assert_max_num_queries
):
    endpoint = make_endpoint(alice.account, receiver.url)
    delivered = services.webhook_endpoint_test(endpoint=endpoint)
    services.webhook_deliver(delivery_id=delivered.pk)
    page_url = endpoint_url(endpoint)
    with_one = queries_of(developer, page_url)

    for _ in range(199):
        services.webhook_endpoint_test(endpoint=endpoint)
    with django_assert_max_num_queries(with_one):
        response = developer.get(page_url)
    assert text(response).count("webhook.test</a>") == 50  # one page


def test_the_list_and_delivery_pages_cost_the_same_queries_with_more_rows(
    alice, developer, receiver, django_assert_max_num_queries
):
    first = make_endpoint(alice.account, receiver.url)
    delivery = services.webhook_endpoint_test(endpoint=first)
    services.webhook_deliver(delivery_id=delivery.pk)
    list_page, delivery_page = url("dashboard-webhooks", alice.account), delivery_url(delivery)
    list_with_one = queries_of(developer, list_page)
    delivery_with_one = queries_of(developer, delivery_page)

    for number in range(30):
        make_endpoint(alice.account, f"http://127.0.0.1:9/hooks/{number}")
    for _ in range(3):
        services.webhook_redeliver(delivery=delivery)
        services.webhook_deliver(delivery_id=delivery.pk)
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 4
    with django_assert_max_num_queries(list_with_one):
        listed = developer.get(list_page)
    with django_assert_max_num_queries(delivery_with_one):
        shown = developer.get(delivery_page)
    assert text(listed).count('<th scope="row">') == 31
    assert text(shown).count('<th scope="row" class="num">') == 4
