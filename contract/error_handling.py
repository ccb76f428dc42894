"""The one place that turns any exception into the seed's error shape.

Every error the platform answers is `{"error": code, "message": text, "request_id": id}`
(validation errors add `"fields"`). Our `DomainError`s carry their code; DRF's, Django's
and unexpected exceptions are translated here, and nothing else builds an error body.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from contract.errors import (
    DomainError,
    Forbidden,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from contract.request_id import current_request_id

logger = logging.getLogger("switchboard.errors")

# What a lost PostgreSQL or Redis raises (the database, the cache, the Celery broker): the
# request could not be served now and may be retried, so it is 503 `unavailable`, not 500,
# wherever it is raised (a view, a middleware, an on-commit hook).
OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    RedisError,
    BrokerError,
)


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    body["request_id"] = current_request_id()
    return body


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested validation detail into `{"a.b": ["…"]}`."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and not prefix:
                name = "non_field_errors"
            fields.update(_flatten_fields(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            fields[prefix or "non_field_errors"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                fields.update(_flatten_fields(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return {k: v for k, v in fields.items() if v}


def _validation_message(fields: dict[str, list[str]]) -> str:
    name, problems = next(iter(fields.items()))
    if name == "non_field_errors":
        return problems[0]
    return f"{name}: {problems[0]}"


def domain_error_from_exception(exc: BaseException) -> DomainError:
    """The DomainError the client is told about, for any exception."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        if not fields:
            return InvalidRequest()
        return InvalidRequest(_validation_message(fields), fields=fields)
    if isinstance(exc, drf_exceptions.ParseError):
        return InvalidRequest(f"Malformed request body: {exc.detail}")
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return UnsupportedMediaType(
            f"Unsupported content type {exc.detail!s}".rstrip(".") + "; send application/json."
        )
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return Unauthorized(str(exc.detail) if exc.detail else None)
    if isinstance(exc, (drf_exceptions.PermissionDenied, PermissionDenied)):
        return Forbidden()
    if isinstance(exc, (drf_exceptions.NotFound, Http404)):
        return NotFound()
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return MethodNotAllowed(f"Method {exc.args[0]} is not allowed here.")
    if isinstance(exc, drf_exceptions.NotAcceptable):
        return NotAcceptable("This API only answers application/json.")
    if isinstance(exc, drf_exceptions.Throttled):
        return RateLimited()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        return InvalidRequest()
    if isinstance(exc, OUTAGES):
        return Unavailable()
    return InternalError()


def log_server_error(exc: BaseException | None, status: int) -> None:
    """Log a 5xx with its traceback; the request id comes from the log filter."""
    logger.error(
        "request failed with %s",
        status,
        exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception under a DRF view answers the seed's shape."""
    error = domain_error_from_exception(exc)
    if error.status >= 500:
        log_server_error(exc, error.status)
    headers = dict(error.headers)
    if error.code == "unauthorized":
        view, request = context.get("view"), context.get("request")
        challenge = view.get_authenticate_header(request) if view and request else None
        headers.setdefault("WWW-Authenticate", challenge or 'Bearer realm="switchboard"')
    response = Response(
        error_body(error.code, error.message, error.fields), status=error.status, headers=headers
    )
    response.exception = True
    # Logged above with its traceback; Django need not log it again.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def json_error(error: DomainError) -> JsonResponse:
    """An error response outside DRF (middleware, Django's handlers)."""
    return JsonResponse(error_body(error.code, error.message, error.fields), status=error.status)


# Django-level handlers, for what never reaches a DRF view.
def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return json_error(PayloadTooLarge())
    return json_error(InvalidRequest())


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error(Forbidden("You do not have access to this resource."))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error(NotFound(f"No such path: {request.path}"))


def handler500(request: HttpRequest) -> HttpResponse:
    """Django calls this while the exception is being handled: an outage answers 503."""
    exc = sys.exc_info()[1]
    if exc is not None and isinstance(exc, OUTAGES):
        return json_error(Unavailable())
    return json_error(InternalError())
