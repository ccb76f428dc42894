"""The framework's own ceiling: a DRF view that parses JSON and inserts one row, nothing more."""

from __future__ import annotations

import json

from django.db import connection
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class BareInsertView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_row (body) VALUES (%s) RETURNING id", [json.dumps(request.data)]
            )
            row_id = cursor.fetchone()[0]
        return Response({"id": row_id}, status=201)
