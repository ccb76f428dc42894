"""Dashboard pages of handles: read-only for owners (operators assign handles in admin)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.dashboard import Seat, account_page, render_page


@account_page()
def handle_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "handles/handle_list.html", {"section": "handles"})
