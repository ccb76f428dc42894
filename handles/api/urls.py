from __future__ import annotations

from django.urls import path

from handles.api.views import HandleDetailView, HandleListView, LookupView

urlpatterns = [
    path("handles", HandleListView.as_view(), name="handles"),
    path("handles/<str:handle>", HandleDetailView.as_view(), name="handle"),
    path("lookup", LookupView.as_view(), name="lookup"),
]
