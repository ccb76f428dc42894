from __future__ import annotations

from django.urls import include, path

from webhooks.api.views import (
    DeliveryRedeliverView,
    WebhookDeliveriesView,
    WebhookDetailView,
    WebhookListView,
    WebhookRotateSecretView,
    WebhookTestView,
)

endpoint = [
    path("", WebhookDetailView.as_view(), name="webhook"),
    path("/rotate-secret", WebhookRotateSecretView.as_view(), name="webhook-rotate"),
    path("/test", WebhookTestView.as_view(), name="webhook-test"),
    path("/deliveries", WebhookDeliveriesView.as_view(), name="webhook-deliveries"),
]

urlpatterns = [
    path("webhooks", WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<str:webhook_id>", include(endpoint)),
    path(
        "webhook-deliveries/<str:delivery_id>/redeliver",
        DeliveryRedeliverView.as_view(),
        name="delivery-redeliver",
    ),
]
