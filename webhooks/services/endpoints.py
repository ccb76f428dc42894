"""Webhook endpoints: create, update, delete, rotate the signing secret, disable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Account
from contract.errors import InvalidRequest
from webhooks.events import EVENT_TYPES
from webhooks.models import (
    WebhookEndpoint,
)
from webhooks.signing import new_secret
from webhooks.urls_safety import check_webhook_url

SECRET_OVERLAP = timedelta(hours=24)


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES) - {"*"})
    if unknown or not events:
        raise InvalidRequest(
            f"Unknown event type: {unknown[0]}." if unknown else "events must not be empty.",
            fields={"events": [f"Unknown: {', '.join(unknown)}." if unknown else "Required."]},
        )
    return ["*"] if "*" in events else sorted(set(events))


def webhook_endpoint_create(
    *, account: Account, url: str, events: list[str], description: str = "", enabled: bool = True
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        account=account,
        url=check_webhook_url(url),
        events=_check_events(events),
        description=description,
        enabled=enabled,
        secret=new_secret(),
    )


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change url, events, description or enabled; enabling clears why it was disabled."""
    if "url" in changes:
        endpoint.url = check_webhook_url(changes["url"])
    if "events" in changes:
        endpoint.events = _check_events(changes["events"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes:
        endpoint.enabled = changes["enabled"]
        if endpoint.enabled:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to it and forget it, with its delivery log."""
    endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (beside the new) for 24 hours."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint


def endpoint_disable(endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason=reason)
    endpoint.enabled = False
    endpoint.disabled_reason = reason
