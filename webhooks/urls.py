"""Dashboard routes of webhooks, under /dashboard/<account_id>/."""

from __future__ import annotations

from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/", views.endpoint_list, name="dashboard-webhooks"),
]
