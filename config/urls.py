from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

import config.api.schema  # noqa: F401  (registers the OpenAPI auth extension)
from accounts.api.views import AccountView, ApiKeyDetailView, ApiKeyListView
from config.api.health import HealthzView, ReadyzView
from handles.api.views import HandleDetailView, HandleListView, LookupView
from handles.device.views import EventsView, HeartbeatView, JobResultView, JobsView
from messaging.api.attachments import (
    AttachmentContentView,
    AttachmentDetailView,
    AttachmentUploadView,
    DeviceAttachmentContentView,
    DeviceAttachmentUploadView,
)
from messaging.api.views import (
    ChatDetailView,
    ChatListView,
    ChatMessagesView,
    ChatParticipantsView,
    ChatParticipantView,
    ChatReadView,
    ChatTypingView,
    MessageCancelView,
    MessageDetailView,
    MessageListView,
    MessageRetryView,
    MessageUnsendView,
    ReactionsView,
    ReactionView,
)
from webhooks.api.views import (
    DeliveryRedeliverView,
    WebhookDeliveriesView,
    WebhookDetailView,
    WebhookListView,
    WebhookRotateSecretView,
    WebhookTestView,
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
    path("messages/<str:message_id>/unsend", MessageUnsendView.as_view(), name="message-unsend"),
    path("messages/<str:message_id>/reactions", ReactionsView.as_view(), name="reactions"),
    path(
        "messages/<str:message_id>/reactions/<str:reaction_type>",
        ReactionView.as_view(),
        name="reaction",
    ),
    path("chats", ChatListView.as_view(), name="chats"),
    path("chats/<str:chat_id>", ChatDetailView.as_view(), name="chat"),
    path("chats/<str:chat_id>/messages", ChatMessagesView.as_view(), name="chat-messages"),
    path("chats/<str:chat_id>/participants", ChatParticipantsView.as_view(), name="participants"),
    path(
        "chats/<str:chat_id>/participants/<str:handle>",
        ChatParticipantView.as_view(),
        name="participant",
    ),
    path("chats/<str:chat_id>/typing", ChatTypingView.as_view(), name="chat-typing"),
    path("chats/<str:chat_id>/read", ChatReadView.as_view(), name="chat-read"),
    path("attachments", AttachmentUploadView.as_view(), name="attachments"),
    path("attachments/<str:attachment_id>", AttachmentDetailView.as_view(), name="attachment"),
    path(
        "attachments/<str:attachment_id>/content",
        AttachmentContentView.as_view(),
        name="attachment-content",
    ),
    path("webhooks", WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<str:webhook_id>", WebhookDetailView.as_view(), name="webhook"),
    path(
        "webhooks/<str:webhook_id>/rotate-secret",
        WebhookRotateSecretView.as_view(),
        name="webhook-rotate",
    ),
    path("webhooks/<str:webhook_id>/test", WebhookTestView.as_view(), name="webhook-test"),
    path(
        "webhooks/<str:webhook_id>/deliveries",
        WebhookDeliveriesView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhook-deliveries/<str:delivery_id>/redeliver",
        DeliveryRedeliverView.as_view(),
        name="delivery-redeliver",
    ),
    path("openapi.json", OpenApiView.as_view(), name="openapi"),
    path("docs", ApiDocsView.as_view(url_name="openapi"), name="api-docs"),
]

device_v1 = [
    path("heartbeat", HeartbeatView.as_view(), name="device-heartbeat"),
    path("jobs", JobsView.as_view(), name="device-jobs"),
    path("jobs/<str:job_id>/result", JobResultView.as_view(), name="device-job-result"),
    path("events", EventsView.as_view(), name="device-events"),
    path("attachments", DeviceAttachmentUploadView.as_view(), name="device-attachments"),
    path(
        "attachments/<str:attachment_id>",
        DeviceAttachmentContentView.as_view(),
        name="device-attachment",
    ),
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
