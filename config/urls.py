from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

import config.api.schema  # noqa: F401  (registers the OpenAPI auth extension)
from accounts.api.views import AccountView, ApiKeyDetailView, ApiKeyListView
from config.api.health import HealthzView, ReadyzView
from handles.api.views import HandleDetailView, HandleListView, LookupView
from handles.device.views import EventsView, HeartbeatView, JobResultView, JobsView
from messaging.api.views import (
    ChatDetailView,
    ChatListView,
    ChatMessagesView,
    MessageCancelView,
    MessageDetailView,
    MessageListView,
    MessageRetryView,
)


class OpenApiView(SpectacularJSONAPIView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()


class ApiDocsView(SpectacularRedocView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()


v1 = [
    path("account", AccountView.as_view(), name="account"),
    path("api-keys", ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<str:key_id>", ApiKeyDetailView.as_view(), name="api-key"),
    path("handles", HandleListView.as_view(), name="handles"),
    path("handles/<str:handle>", HandleDetailView.as_view(), name="handle"),
    path("lookup", LookupView.as_view(), name="lookup"),
    path("messages", MessageListView.as_view(), name="messages"),
    path("messages/<str:message_id>", MessageDetailView.as_view(), name="message"),
    path("messages/<str:message_id>/retry", MessageRetryView.as_view(), name="message-retry"),
    path("messages/<str:message_id>/cancel", MessageCancelView.as_view(), name="message-cancel"),
    path("chats", ChatListView.as_view(), name="chats"),
    path("chats/<str:chat_id>", ChatDetailView.as_view(), name="chat"),
    path("chats/<str:chat_id>/messages", ChatMessagesView.as_view(), name="chat-messages"),
    path("openapi.json", OpenApiView.as_view(), name="openapi"),
    path("docs", ApiDocsView.as_view(url_name="openapi"), name="api-docs"),
]

device_v1 = [
    path("heartbeat", HeartbeatView.as_view(), name="device-heartbeat"),
    path("jobs", JobsView.as_view(), name="device-jobs"),
    path("jobs/<str:job_id>/result", JobResultView.as_view(), name="device-job-result"),
    path("events", EventsView.as_view(), name="device-events"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("device/v1/", include(device_v1)),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("admin/", admin.site.urls),
]

handler400 = "config.api.errors.handler400"
handler403 = "config.api.errors.handler403"
handler404 = "config.api.errors.handler404"
handler500 = "config.api.errors.handler500"
