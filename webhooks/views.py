"""Dashboard pages of webhooks: endpoints, their signing secret (shown once), deliveries.

Every object is found through the account-scoped selectors, so another account's id is a
404 exactly like a missing one. Every write is one service call followed by a redirect
(POST/redirect/GET); a secret it makes travels to the endpoint's page by `reveal_once` and
is shown there once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.dashboard import Seat, account_page, render_page, reveal_once, take_revealed
from contract.errors import DomainError, InvalidRequest
from contract.pagination import Page, paginate
from webhooks import selectors, services
from webhooks.delivery import body_of
from webhooks.forms import WebhookEndpointForm
from webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

SECTION = "webhooks"
M = TypeVar("M", bound=Model)


# --- finding things ------------------------------------------------------------------------


def _endpoint_of(seat: Seat, webhook_id: str) -> WebhookEndpoint:
    """The account's endpoint (account_page makes a missing or foreign one a 404)."""
    return selectors.endpoint_get(account=seat.account, endpoint_id=webhook_id)


def _delivery_of(seat: Seat, delivery_id: str) -> WebhookDelivery:
    """The account's delivery, with its event and attempts."""
    return selectors.delivery_get(account=seat.account, delivery_id=delivery_id)


def _page_of(request: HttpRequest, rows: QuerySet[M]) -> Page:
    """One keyset page, newest first, per `?limit=&cursor=`; a cursor not ours is a 400."""
    try:
        return paginate(request, rows)
    except InvalidRequest as exc:
        raise BadRequest(exc.message) from exc


def _require_writer(seat: Seat) -> None:
    """Forms that only lead to a write are not for viewers either (account_page checks POST)."""
    if not seat.can_write:
        raise PermissionDenied("Your role cannot do this.")


def _endpoint_path(seat: Seat, endpoint: WebhookEndpoint) -> str:
    return reverse(
        "dashboard-webhook", kwargs={"account_id": seat.account.pk, "webhook_id": endpoint.pk}
    )


def _to_endpoint_revealing_secret(seat: Seat, endpoint: WebhookEndpoint) -> HttpResponse:
    """Redirect to the endpoint's page, which shows its (new) signing secret once."""
    path = _endpoint_path(seat, endpoint)
    return reveal_once(redirect(path), path=path, secret=endpoint.secret)


# --- endpoints -----------------------------------------------------------------------------


@account_page()
def endpoint_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    endpoints = _page_of(request, selectors.endpoint_list(account=seat.account))
    return render_page(
        request, seat, "webhooks/endpoint_list.html", {"section": SECTION, "page": endpoints}
    )


@account_page()
def endpoint_create(request: HttpRequest, seat: Seat) -> HttpResponse:
    """The new-endpoint form; once saved, the endpoint's page shows its secret once."""
    _require_writer(seat)
    form = WebhookEndpointForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(account=seat.account, **form.cleaned_data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "Endpoint created. Copy its signing secret now.")
            return _to_endpoint_revealing_secret(seat, endpoint)
    return render_page(
        request, seat, "webhooks/endpoint_form.html", {"section": SECTION, "form": form}
    )


@account_page()
def endpoint_edit(request: HttpRequest, seat: Seat, webhook_id: str) -> HttpResponse:
    _require_writer(seat)
    endpoint = _endpoint_of(seat, webhook_id)
    form = WebhookEndpointForm(
        request.POST if request.method == "POST" else None,
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "enabled": endpoint.enabled,
        },
    )
    if form.is_valid():
        try:
            services.webhook_endpoint_update(endpoint=endpoint, **form.changes())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect(_endpoint_path(seat, endpoint))
    return render_page(
        request,
        seat,
        "webhooks/endpoint_form.html",
        {"section": SECTION, "form": form, "endpoint": endpoint},
    )


@dataclass(frozen=True)
class DeliveryRow:
    """A line of the delivery log: the delivery and its latest attempt (None before one)."""

    delivery: WebhookDelivery
    last_attempt: DeliveryAttempt | None


@account_page()
def endpoint_detail(request: HttpRequest, seat: Seat, webhook_id: str) -> HttpResponse:
    """The endpoint, its actions and its delivery log (and a secret just made, once)."""
    endpoint = _endpoint_of(seat, webhook_id)
    deliveries = _page_of(request, selectors.delivery_list(endpoint=endpoint))
    rows = []
    for delivery in deliveries.rows:
        attempts = list(delivery.attempt_log.all())  # prefetched, oldest first
        rows.append(DeliveryRow(delivery, attempts[-1] if attempts else None))
    old_secret_until = endpoint.previous_secret_expires_at
    response = render_page(
        request,
        seat,
        "webhooks/endpoint_detail.html",
        {
            "section": SECTION,
            "endpoint": endpoint,
            "page": deliveries,
            "rows": rows,
            "old_secret_until": (
                old_secret_until if old_secret_until and old_secret_until > timezone.now() else None
            ),
        },
    )
    take_revealed(request, response)
    return response


@account_page()
def endpoint_delete(request: HttpRequest, seat: Seat, webhook_id: str) -> HttpResponse:
    """Ask first (GET); delete on the confirmation's POST."""
    _require_writer(seat)
    endpoint = _endpoint_of(seat, webhook_id)
    if request.method != "POST":
        return render_page(
            request,
            seat,
            "webhooks/endpoint_delete.html",
            {"section": SECTION, "endpoint": endpoint},
        )
    services.webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted.")
    return redirect("dashboard-webhooks", account_id=seat.account.pk)


@account_page()
@require_POST
def endpoint_send_test(request: HttpRequest, seat: Seat, webhook_id: str) -> HttpResponse:
    endpoint = _endpoint_of(seat, webhook_id)
    services.webhook_endpoint_test(endpoint=endpoint)
    messages.success(request, "Test event sent. Follow it in the delivery log below.")
    return redirect(_endpoint_path(seat, endpoint))


@account_page()
@require_POST
def endpoint_rotate_secret(request: HttpRequest, seat: Seat, webhook_id: str) -> HttpResponse:
    endpoint = services.webhook_endpoint_rotate_secret(endpoint=_endpoint_of(seat, webhook_id))
    messages.success(
        request, "Secret rotated. The old secret keeps signing, beside the new one, for 24 hours."
    )
    return _to_endpoint_revealing_secret(seat, endpoint)


@account_page()
@require_POST
def endpoint_set_enabled(
    request: HttpRequest, seat: Seat, webhook_id: str, enabled: bool
) -> HttpResponse:
    """Enable or disable (the route says which); enabling forgets why it was disabled."""
    endpoint = services.webhook_endpoint_update(
        endpoint=_endpoint_of(seat, webhook_id), enabled=enabled
    )
    messages.success(
        request,
        "Endpoint enabled."
        if enabled
        else "Endpoint disabled: it receives no events until you enable it.",
    )
    return redirect(_endpoint_path(seat, endpoint))


# --- deliveries ----------------------------------------------------------------------------


@account_page()
def delivery_detail(request: HttpRequest, seat: Seat, delivery_id: str) -> HttpResponse:
    """One event's delivery to one endpoint: the body it carries and every attempt."""
    delivery = _delivery_of(seat, delivery_id)
    # The very body the endpoint is sent, indented for reading.
    body = json.dumps(json.loads(body_of(delivery)), indent=2, ensure_ascii=False)
    return render_page(
        request,
        seat,
        "webhooks/delivery_detail.html",
        {"section": SECTION, "delivery": delivery, "endpoint": delivery.endpoint, "body": body},
    )


@account_page()
@require_POST
def delivery_redeliver(request: HttpRequest, seat: Seat, delivery_id: str) -> HttpResponse:
    delivery = services.webhook_redeliver(delivery=_delivery_of(seat, delivery_id))
    messages.success(request, "Redelivery queued: one more attempt now, with the same webhook-id.")
    return redirect(
        "dashboard-webhook-delivery", account_id=seat.account.pk, delivery_id=delivery.pk
    )
