"""GET /metrics for Prometheus: outside the API's keys, behind a token of its own.

SWITCHBOARD_METRICS_TOKEN unset: /metrics is a 404, like any unknown path. Set: the scrape
must send `Authorization: Bearer <token>`; anything else is a 401 `unauthorized` in the
seed's shape (the path is no secret, the numbers are).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from rest_framework.request import Request

from contract.errors import NotFound
from contract.views import ApiView
from monitoring.auth import MetricsTokenAuthentication
from monitoring.metrics import metrics_text


class MetricsView(ApiView):
    authentication_classes = (MetricsTokenAuthentication,)
    permission_classes = ()
    throttle_classes = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not settings.SWITCHBOARD_METRICS_TOKEN:
            raise NotFound(f"No such path: {request.path}")
        super().initial(request, *args, **kwargs)  # authenticates: 401 on a bad token

    @extend_schema(
        operation_id="metrics",
        summary="Prometheus metrics (operators)",
        tags=["operations"],
        description=(
            "The platform's counters, histograms and gauges in Prometheus' text format "
            "(docs/operations.md lists them). A 404 unless SWITCHBOARD_METRICS_TOKEN is set; "
            "then only with that token."
        ),
        responses={
            (200, "text/plain"): OpenApiResponse(
                response=OpenApiTypes.STR, description="Prometheus text format 0.0.4."
            )
        },
    )
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
        response["Cache-Control"] = "no-store"
        return response
