"""Dashboard pages of handles: read-only for owners (operators assign handles in admin)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from accounts.dashboard import Seat, account_page, render_page
from contract.errors import DomainError
from handles import selectors
from handles.addresses import handle_normalize

HISTORY = 50


@account_page()
def handle_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    handles = list(selectors.handle_list(account=seat.account).order_by("address")[:200])
    return render_page(
        request,
        seat,
        "handles/handle_list.html",
        {
            "section": "handles",
            "handles": handles,
            "queue_depths": selectors.queue_depths(handles),
            "new_contacts": selectors.new_contacts_usage(handles),
        },
    )


@account_page()
def handle_detail(request: HttpRequest, seat: Seat, address: str) -> HttpResponse:
    try:
        handle = selectors.handle_get(account=seat.account, address=handle_normalize(address))
    except DomainError as missing:
        raise Http404("Not found.") from missing
    return render_page(
        request,
        seat,
        "handles/handle_detail.html",
        {
            "section": "handles",
            "handle": handle,
            "queue_depth": selectors.queue_depths([handle]).get(handle.pk, 0),
            "new_contacts": selectors.new_contacts_usage([handle])[handle.pk],
            "history": list(handle.status_changes.order_by("-at")[:HISTORY]),
        },
    )
