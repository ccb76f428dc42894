from __future__ import annotations

from django.urls import path

from accounts.api.views import AccountView, ApiKeyDetailView, ApiKeyListView

urlpatterns = [
    path("account", AccountView.as_view(), name="account"),
    path("api-keys", ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", ApiKeyDetailView.as_view(), name="api-key"),
]
