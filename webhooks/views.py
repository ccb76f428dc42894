"""Dashboard pages of webhooks."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.dashboard import Seat, account_page, render_page


@account_page()
def endpoint_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "webhooks/endpoint_list.html", {"section": "webhooks"})
