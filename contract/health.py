"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging

from celery import current_app
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from contract.envelope import ok
from contract.errors import Unavailable
from contract.views import ApiView

logger = logging.getLogger(__name__)

_STATUS = inline_serializer(
    "HealthResponse",
    fields={
        "data": inline_serializer("Health", fields={"status": serializers.CharField()}),
        "request_id": serializers.CharField(),
    },
)


class HealthzView(ApiView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()

    @extend_schema(
        operation_id="healthz",
        summary="The process is up",
        tags=["health"],
        description="Answers 200 while the web process serves; checks nothing else.",
        responses={200: _STATUS},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return ok({"status": "ok"})


def broker_reachable() -> bool:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.warning("broker unreachable", exc_info=True)
        return False


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("database unreachable", exc_info=True)
        return False


class ReadyzView(HealthzView):
    @extend_schema(
        operation_id="readyz",
        summary="The database and the broker are reachable",
        description="200 when PostgreSQL and the broker answer; 503 `unavailable` otherwise.",
        tags=["health"],
        responses={200: _STATUS},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        if not database_reachable():
            raise Unavailable("The database is not reachable.")
        if not broker_reachable():
            raise Unavailable("The message broker is not reachable.")
        return ok({"status": "ready"})
