"""Error pages: a person in the dashboard gets a page, everyone else the seed's JSON.

Both carry the request id (the page shows it, the JSON has it in the body) and the same
value in X-Request-Id.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from contract import error_handling
from contract.request_id import current_request_id

PAGE_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def _is_page(request: HttpRequest) -> bool:
    return request.path.startswith("/dashboard/")


def _page(request: HttpRequest, status: int, text: str) -> HttpResponse:
    body = render_to_string(
        "errors/error.html",
        {
            "status": status,
            "title": PAGE_TITLES[status],
            "text": text,
            "request_id": current_request_id(),
        },
    )
    return HttpResponse(body, status=status)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_page(request):
        return _page(request, 400, "The request could not be understood.")
    return error_handling.handler400(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_page(request):
        return _page(request, 403, "Your role in this account does not allow this.")
    return error_handling.handler403(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_page(request):
        return _page(request, 404, "There is nothing here, or it is not yours to see.")
    return error_handling.handler404(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_page(request):
        if isinstance(sys.exc_info()[1], error_handling.OUTAGES):
            return _page(request, 503, "The service is temporarily unavailable; try again.")
        return _page(request, 500, "It was logged; quote the request id if you report it.")
    return error_handling.handler500(request)
