"""Dashboard routes of handles, under /dashboard/<account_id>/."""

from __future__ import annotations

from django.urls import path

from handles import views

urlpatterns = [
    path("handles/", views.handle_list, name="dashboard-handles"),
    path("handles/<str:address>/", views.handle_detail, name="dashboard-handle"),
]
