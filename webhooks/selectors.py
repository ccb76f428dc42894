"""Reads of webhook endpoints and their deliveries, scoped to one account."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Account
from accounts.tenancy import get_owned
from contract.errors import NotFound
from webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, account: Account) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(account=account)


def endpoint_get(*, account: Account, endpoint_id: str) -> WebhookEndpoint:
    return get_owned(WebhookEndpoint.objects.all(), account=account, pk=endpoint_id)


def _with_attempts(deliveries: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    # In the order they were made (their numbers; a clock may step back between two).
    attempts = Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number", "id"))
    return deliveries.select_related("event").prefetch_related(attempts)


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return _with_attempts(WebhookDelivery.objects.filter(endpoint=endpoint))


def delivery_get(*, account: Account, delivery_id: str) -> WebhookDelivery:
    delivery = (
        _with_attempts(WebhookDelivery.objects.filter(pk=delivery_id, endpoint__account=account))
        .select_related("endpoint")
        .first()
    )
    if delivery is None:
        raise NotFound()
    return delivery


def deliveries_about(*, account: Account, subject: str) -> QuerySet[WebhookDelivery]:
    """Every delivery of the account's events about `subject` (a message id, say)."""
    return (
        WebhookDelivery.objects.filter(event__account=account, event__subject=subject)
        .select_related("event", "endpoint")
        .order_by("-created_at", "-id")
    )


def endpoints_failing(*, account: Account) -> list[WebhookEndpoint]:
    """Endpoints that are disabled, or whose attempts have been failing."""
    return list(
        WebhookEndpoint.objects.filter(account=account)
        .filter(Q(enabled=False) | Q(failing_since__isnull=False))
        .order_by("-created_at")[:10]
    )
