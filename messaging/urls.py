"""Dashboard routes of messaging, under /dashboard/<account_id>/."""

from __future__ import annotations

from django.urls import path

from messaging import views

urlpatterns = [
    path("", views.overview, name="dashboard-overview"),
    path("conversations/", views.chat_list, name="dashboard-chats"),
    path("messages/", views.message_list, name="dashboard-messages"),
]
