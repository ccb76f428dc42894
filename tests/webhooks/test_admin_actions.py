"""Webhooks in admin: redeliver a delivery, re-enable a disabled endpoint; each audited."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEntry
from tests.operator_support import result_messages, run_action
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def endpoint(alice: Any) -> WebhookEndpoint:
    return services.webhook_endpoint_create(
        account=alice.account, url="http://127.0.0.1:9/hook", events=["*"]
    )


def test_redelivering_a_failed_delivery_makes_it_due_again_and_is_audited(
    operator, alice, endpoint
):
    services.event_publish(account=alice.account, type="webhook.test", data={})
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    response = run_action(operator, "/admin/webhooks/webhookdelivery/", "redeliver", [delivery.pk])
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at is not None) == ("pending", True)
    assert list(AuditEntry.objects.values_list("action", "object_id", "account_id", "changes")) == [
        (
            "webhook_delivery.redeliver",
            delivery.pk,
            alice.account.pk,
            {"status": ["failed", "pending"]},
        )
    ]


def test_re_enabling_a_disabled_endpoint_clears_why_and_is_audited(operator, alice, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason="failing for 5 days"
    )
    changelist = "/admin/webhooks/webhookendpoint/"
    run_action(operator, changelist, "reenable", [endpoint.pk])
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")
    assert result_messages(operator.get(changelist)) == ["1 endpoint(s) enabled again."]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.account_id) == (
        "webhook_endpoint.enable",
        endpoint.pk,
        alice.account.pk,
    )
    assert entry.changes == {
        "enabled": [False, True],
        "disabled_reason": ["failing for 5 days", ""],
    }
