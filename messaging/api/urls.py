"""Messaging's routes: `urlpatterns` under /v1/, `device_urlpatterns` under /device/v1/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from messaging.api.attachments import (
    AttachmentContentView,
    AttachmentDetailView,
    AttachmentUploadView,
    DeviceAttachmentContentView,
    DeviceAttachmentUploadView,
)
from messaging.api.opt_outs import OptOutDetailView, OptOutListView
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

message = [
    path("", MessageDetailView.as_view(), name="message"),
    path("/retry", MessageRetryView.as_view(), name="message-retry"),
    path("/cancel", MessageCancelView.as_view(), name="message-cancel"),
    path("/unsend", MessageUnsendView.as_view(), name="message-unsend"),
    path("/reactions", ReactionsView.as_view(), name="reactions"),
    path("/reactions/<str:reaction_type>", ReactionView.as_view(), name="reaction"),
]

chat = [
    path("", ChatDetailView.as_view(), name="chat"),
    path("/messages", ChatMessagesView.as_view(), name="chat-messages"),
    path("/participants", ChatParticipantsView.as_view(), name="participants"),
    path("/participants/<str:handle>", ChatParticipantView.as_view(), name="participant"),
    path("/typing", ChatTypingView.as_view(), name="chat-typing"),
    path("/read", ChatReadView.as_view(), name="chat-read"),
]

attachment = [
    path("", AttachmentDetailView.as_view(), name="attachment"),
    path("/content", AttachmentContentView.as_view(), name="attachment-content"),
]

urlpatterns = [
    path("messages", MessageListView.as_view(), name="messages"),
    path("messages/<str:message_id>", include(message)),
    path("chats", ChatListView.as_view(), name="chats"),
    path("chats/<str:chat_id>", include(chat)),
    path("attachments", AttachmentUploadView.as_view(), name="attachments"),
    path("opt-outs", OptOutListView.as_view(), name="opt-outs"),
    path("opt-outs/<str:recipient>", OptOutDetailView.as_view(), name="opt-out"),
    path("attachments/<str:attachment_id>", include(attachment)),
]

device_urlpatterns: list[URLPattern | URLResolver] = [
    path("attachments", DeviceAttachmentUploadView.as_view(), name="device-attachments"),
    path(
        "attachments/<str:attachment_id>",
        DeviceAttachmentContentView.as_view(),
        name="device-attachment",
    ),
]
