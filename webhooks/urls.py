"""Dashboard routes of webhooks, under /dashboard/<account_id>/."""

from __future__ import annotations

from django.urls import URLPattern, path

from webhooks import views

urlpatterns: list[URLPattern] = [
    path("webhooks/", views.endpoint_list, name="dashboard-webhooks"),
    # Before `webhooks/<webhook_id>/`, which would take "new" for an id.
    path("webhooks/new/", views.endpoint_create, name="dashboard-webhook-new"),
    path(
        "webhooks/deliveries/<str:delivery_id>/",
        views.delivery_detail,
        name="dashboard-webhook-delivery",
    ),
    path(
        "webhooks/deliveries/<str:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="dashboard-webhook-redeliver",
    ),
    path("webhooks/<str:webhook_id>/", views.endpoint_detail, name="dashboard-webhook"),
    path("webhooks/<str:webhook_id>/edit/", views.endpoint_edit, name="dashboard-webhook-edit"),
    path(
        "webhooks/<str:webhook_id>/delete/",
        views.endpoint_delete,
        name="dashboard-webhook-delete",
    ),
    path(
        "webhooks/<str:webhook_id>/test/",
        views.endpoint_send_test,
        name="dashboard-webhook-test",
    ),
    path(
        "webhooks/<str:webhook_id>/rotate-secret/",
        views.endpoint_rotate_secret,
        name="dashboard-webhook-rotate-secret",
    ),
    path(
        "webhooks/<str:webhook_id>/enable/",
        views.endpoint_set_enabled,
        {"enabled": True},
        name="dashboard-webhook-enable",
    ),
    path(
        "webhooks/<str:webhook_id>/disable/",
        views.endpoint_set_enabled,
        {"enabled": False},
        name="dashboard-webhook-disable",
    ),
]
