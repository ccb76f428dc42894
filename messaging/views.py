"""Dashboard pages of messaging: the overview, conversations and the message log."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.dashboard import Seat, account_page, render_page


@account_page()
def overview(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "messaging/overview.html", {"section": "overview"})


@account_page()
def chat_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "messaging/chat_list.html", {"section": "chats"})


@account_page()
def message_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "messaging/message_list.html", {"section": "messages"})
