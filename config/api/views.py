"""The base of every `/v1/` view: auth, rate-limit headers, strict query, idempotency."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from config.api.errors import ApiError
from config.api.idempotency import idempotency_key_of, run_idempotently
from config.api.ratelimit import apply_rate_limit_headers
from config.api.uploads import install_upload_handler


class ApiView(APIView):
    """An API view. Subclasses name the query parameters they accept."""

    allowed_query_params: frozenset[str] = frozenset()
    # False for views that wait on a device: see config.api.idempotency.
    idempotent_in_transaction = True
    # Fields of `data` that hold a secret shown once: never stored for a replay.
    idempotency_redacted_fields: tuple[str, ...] = ()
    # Views that take uploads: their largest body, enforced (and hashed) as it streams.
    upload_limit: int | None = None

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if self.upload_limit is not None:
            install_upload_handler(request, self.upload_limit)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.allowed_query_params_for(request))
        if unknown:
            raise ApiError(
                "invalid_request",
                f"Unknown query parameter: {unknown[0]}.",
                fields={name: ["This query parameter is not allowed."] for name in unknown},
            )

    def allowed_query_params_for(self, request: Request) -> frozenset[str]:
        return self.allowed_query_params

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        apply_rate_limit_headers(request._request, response)
        return response

    def _respond(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        method = (request.method or "").lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        try:
            response = (handler or self.http_method_not_allowed)(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        return self.finalize_response(request, response, *args, **kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """DRF's dispatch, with the handler run under the Idempotency-Key when one is sent."""
        self.args = args
        self.kwargs = kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            self.initial(drf_request, *args, **kwargs)
            key = idempotency_key_of(drf_request)
            api_key = drf_request.auth
            if key is None or not isinstance(api_key, ApiKey):
                return self._respond(drf_request, *args, **kwargs)
            response = run_idempotently(
                request=drf_request,
                account=api_key.account,
                key=key,
                respond=lambda: self._respond(drf_request, *args, **kwargs),
                in_transaction=self.idempotent_in_transaction,
                redact=self.idempotency_redacted_fields,
            )
        except Exception as exc:
            return self.finalize_response(drf_request, self.handle_exception(exc))
        # A replay skipped finalize_response: it still gets this request's limits.
        apply_rate_limit_headers(request, response)
        return response
