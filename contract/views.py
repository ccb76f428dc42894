"""The base of every API view: strict query, ids that cannot exist answered 404 before any
lookup, upload limits, rate-limit headers, and one seam (`respond_once`) where `accounts`
runs writes under their Idempotency-Key (after the method is known to be allowed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contract.errors import InvalidRequest, NotFound
from contract.ids import names_nothing
from contract.negotiation import RememberedContentNegotiation
from contract.ratelimit import apply_rate_limit_headers, failed_auth_check_deferred
from contract.uploads import install_upload_handler

# The methods that read what `allowed_query_params` names: HEAD is answered by the GET handler.
READ_METHODS = frozenset({"GET", "HEAD"})


class ApiView(APIView):
    """An API view. Subclasses name the query parameters they accept."""

    # The query parameters of its GET (and so of HEAD); a write takes none.
    allowed_query_params: frozenset[str] = frozenset()
    content_negotiation_class: type[BaseContentNegotiation] = RememberedContentNegotiation
    # OPTIONS is 405 `method_not_allowed` like any method a path does not serve, with `Allow`
    # naming those it does: no CORS preflight to answer (API keys are server-side secrets), and
    # DRF's OPTIONS metadata is neither our envelope nor meant for clients (docs/api.md).
    http_method_names = [m for m in APIView.http_method_names if m != "options"]
    # Error statuses this view's writes may answer besides the common ones (OpenAPI only).
    openapi_write_error_statuses: tuple[int, ...] = ()
    # Whether its writes take an Idempotency-Key (`respond_once` runs them once per key).
    idempotent_writes = False

    def upload_limit(self) -> int | None:
        """The largest upload this view takes, enforced (and hashed) as it streams."""
        return None

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        limit = self.upload_limit()
        if limit is not None:
            install_upload_handler(request, limit)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Owed when a remembered secret skipped it and no budget carried it (contract.auth).
        failed_auth_check_deferred(request)
        if self._handler(request) is None:
            # A method the path does not serve is 405 whatever its query or ids (`dispatch`):
            # the query it carries is another method's, or nothing the path knows.
            return
        unknown = sorted(set(request.query_params) - self.allowed_query_params_for(request))
        if unknown:
            raise InvalidRequest(
                f"Unknown query parameter: {unknown[0]}.",
                fields={name: ["This query parameter is not allowed."] for name in unknown},
            )
        unstorable = sorted(
            name
            for name, values in request.query_params.lists()
            if any("\x00" in value for value in values)
        )
        if unstorable:
            raise InvalidRequest(
                f"{unstorable[0]}: Must not contain NUL (%00) characters.",
                fields={name: ["Must not contain NUL (%00) characters."] for name in unstorable},
            )
        if names_nothing(kwargs):
            raise NotFound()

    def allowed_query_params_for(self, request: Request) -> frozenset[str]:
        return self.allowed_query_params if request.method in READ_METHODS else frozenset()

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        apply_rate_limit_headers(request._request, response)
        return response

    def respond_once(
        self, request: Request, respond: Callable[[], HttpResponseBase]
    ) -> HttpResponseBase:
        """Run the handler (`respond`). Subclasses may run it at most once per request key."""
        return respond()

    def _handler(self, request: Request) -> Callable[..., Any] | None:
        method = (request.method or "").lower()
        return getattr(self, method, None) if method in self.http_method_names else None

    def _respond(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        handler = self._handler(request)
        try:
            response = (handler or self.http_method_not_allowed)(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        return self.finalize_response(request, response, *args, **kwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """DRF's dispatch, with the handler run through `respond_once`."""
        self.args = args
        self.kwargs = kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            self.initial(drf_request, *args, **kwargs)
            if self._handler(drf_request) is None:
                # 405 first: a method the path does not take has no Idempotency-Key to check.
                return self._respond(drf_request, *args, **kwargs)
            response = self.respond_once(
                drf_request, lambda: self._respond(drf_request, *args, **kwargs)
            )
        except Exception as exc:
            return self.finalize_response(drf_request, self.handle_exception(exc))
        # A replay skipped finalize_response: it still gets this request's limits.
        apply_rate_limit_headers(request, response)
        return response
