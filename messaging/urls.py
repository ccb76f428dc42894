"""Dashboard routes of messaging, under /dashboard/<account_id>/."""

from __future__ import annotations

from django.urls import path

from messaging import opt_out_views, views

urlpatterns = [
    path("", views.overview, name="dashboard-overview"),
    path("conversations/", views.chat_list, name="dashboard-chats"),
    path("conversations/<str:chat_id>/", views.chat_detail, name="dashboard-chat"),
    path("conversations/<str:chat_id>/thread/", views.chat_thread, name="dashboard-chat-thread"),
    path("conversations/<str:chat_id>/send/", views.chat_send, name="dashboard-chat-send"),
    path("messages/", views.message_list, name="dashboard-messages"),
    path("messages/new/", views.message_new, name="dashboard-message-new"),
    path("messages/<str:message_id>/", views.message_detail, name="dashboard-message"),
    path("messages/<str:message_id>/retry/", views.message_retry, name="dashboard-message-retry"),
    path(
        "messages/<str:message_id>/cancel/", views.message_cancel, name="dashboard-message-cancel"
    ),
    path("opt-outs/", opt_out_views.opt_out_list, name="dashboard-opt-outs"),
    path(
        "opt-outs/<str:recipient>/remove/",
        opt_out_views.opt_out_remove,
        name="dashboard-opt-out-remove",
    ),
    path(
        "attachments/<str:attachment_id>/",
        views.attachment_content,
        name="dashboard-attachment",
    ),
]
