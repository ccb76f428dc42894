"""GET /metrics for Prometheus: outside the API's keys, behind a token of its own.

SWITCHBOARD_METRICS_TOKEN unset: /metrics is a 404, like any unknown path. Set: the scrape
must send `Authorization: Bearer <token>`; anything else is a 401 `unauthorized` in the
seed's shape (the path is no secret, the numbers are).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from contract.error_handling import json_error
from contract.errors import MethodNotAllowed, NotFound, Unauthorized
from monitoring.metrics import metrics_text


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@csrf_exempt  # no session is involved; a POST gets the 405 below, not a CSRF page
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.SWITCHBOARD_METRICS_TOKEN
    if not token:
        return json_error(NotFound(f"No such path: {request.path}"))
    response: HttpResponse
    if request.method not in ("GET", "HEAD"):
        response = json_error(MethodNotAllowed(f"Method {request.method} is not allowed here."))
        response["Allow"] = "GET, HEAD"
        return response
    if not _authorized(request, token):
        response = json_error(Unauthorized("Send the metrics token as a Bearer token."))
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
