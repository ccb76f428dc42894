"""The error catalog and the one place that turns any exception into the seed's shape.

Every error the platform answers is `{"error": code, "message": text, "request_id": id}`
(validation errors add `"fields"`). Services raise `ApiError`s built from this catalog;
DRF's, Django's and unexpected exceptions are translated here, and nothing else builds
an error body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from config.api.request_id import current_request_id

logger = logging.getLogger("switchboard.errors")


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str
    description: str


def _catalog(*codes: ErrorCode) -> dict[str, ErrorCode]:
    return {c.code: c for c in codes}


# (code, HTTP status, default message, when it happens). The docs list this table.
CATALOG: dict[str, ErrorCode] = _catalog(
    ErrorCode(
        "invalid_request",
        400,
        "The request is not valid.",
        "The body, query or path failed validation: a missing, unknown or malformed field, "
        "or malformed JSON. Also answered with 415 when the content type is not JSON.",
    ),
    ErrorCode(
        "invalid_handle",
        400,
        "The handle is not a valid E.164 phone number or iMessage email address.",
        "`to`, `from_handle` or a participant is not a valid E.164 number or email.",
    ),
    ErrorCode(
        "invalid_from_handle",
        400,
        "from_handle is not a number assigned to your account.",
        "The from number is not assigned to your account (or has no connected WhatsApp "
        "session when channel is forced to whatsapp).",
    ),
    ErrorCode(
        "invalid_attachments",
        400,
        "An attachment is unknown or already used by another message.",
        "An attachment id is unknown, belongs to another account, or was already sent.",
    ),
    ErrorCode(
        "invalid_url",
        400,
        "The webhook url must be a public http(s) endpoint.",
        "A webhook url is not a public http(s) endpoint (private, loopback, link-local "
        "and other non-public addresses are rejected).",
    ),
    ErrorCode(
        "unauthorized",
        401,
        "Missing or invalid API key.",
        "No `Authorization: Bearer` header, or the key is unknown, malformed or revoked.",
    ),
    ErrorCode(
        "forbidden",
        403,
        "This account is not active.",
        "The key is valid but its account is inactive.",
    ),
    ErrorCode(
        "not_found",
        404,
        "The resource does not exist.",
        "The resource does not exist or belongs to a different account; also unknown paths.",
    ),
    ErrorCode(
        "method_not_allowed",
        405,
        "This method is not allowed on this resource.",
        "The path exists but does not accept this HTTP method.",
    ),
    ErrorCode(
        "conflict",
        409,
        "The action does not apply to this resource in its current state.",
        "Editing an SMS, reacting before delivery, retrying a message that has not failed.",
    ),
    ErrorCode(
        "not_a_group",
        409,
        "This chat is not a group.",
        "A group operation (rename, participants) on a direct-message chat.",
    ),
    ErrorCode(
        "idempotency_key_in_use",
        409,
        "A request with this Idempotency-Key is still being processed.",
        "Another request with the same Idempotency-Key has not finished yet; retry later.",
    ),
    ErrorCode(
        "payload_too_large",
        413,
        "The request body is too large.",
        "A JSON body over 1 MiB (or an attachment over its own limit).",
    ),
    ErrorCode(
        "idempotency_key_reused",
        422,
        "This Idempotency-Key was already used with a different request.",
        "The same Idempotency-Key was sent with a different method, path or body.",
    ),
    ErrorCode(
        "rate_limited",
        429,
        "Rate limit exceeded; retry after the window resets.",
        "Too many requests for this API key (or failed authentications from this address). "
        "`Retry-After` says when to retry.",
    ),
    ErrorCode(
        "internal_error",
        500,
        "Something went wrong on our side. Quote the request_id when reporting it.",
        "An unexpected error. Never carries detail; safe to retry with the same Idempotency-Key.",
    ),
    ErrorCode(
        "edit_failed", 502, "The device could not edit the message.", "A synchronous edit failed."
    ),
    ErrorCode(
        "reaction_failed",
        502,
        "The device could not add or remove the reaction.",
        "A synchronous reaction failed.",
    ),
    ErrorCode(
        "unsend_failed",
        502,
        "The device could not unsend the message.",
        "A synchronous unsend failed.",
    ),
    ErrorCode(
        "group_update_failed",
        502,
        "The device could not update the group.",
        "A synchronous group operation failed.",
    ),
    ErrorCode(
        "typing_failed",
        502,
        "The device could not send the typing indicator.",
        "A synchronous typing indicator failed.",
    ),
    ErrorCode(
        "read_failed",
        502,
        "The device could not mark the chat as read.",
        "A synchronous read receipt failed.",
    ),
    ErrorCode(
        "device_offline",
        503,
        "The sending number's device is offline.",
        "The sending number's device has not checked in recently. Safe to retry.",
    ),
    ErrorCode(
        "unavailable",
        503,
        "The service is temporarily unavailable.",
        "The database or the broker cannot be reached. Safe to retry.",
    ),
)


class ApiError(Exception):
    """An error the client is told about, by its catalog code."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        entry = CATALOG[code]
        self.code = code
        self.message = message or entry.message
        self.fields = fields
        self.status = status or entry.status
        self.headers = headers or {}
        super().__init__(self.message)


def NotFound(message: str | None = None) -> ApiError:
    return ApiError("not_found", message)


def Conflict(message: str | None = None) -> ApiError:
    return ApiError("conflict", message)


def InvalidRequest(
    message: str | None = None, *, fields: dict[str, list[str]] | None = None
) -> ApiError:
    return ApiError("invalid_request", message, fields=fields)


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


def api_error_from_exception(exc: BaseException) -> ApiError:
    """Map any exception to the ApiError the client sees."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        if not fields:
            return InvalidRequest()
        return ApiError("invalid_request", _validation_message(fields), fields=fields)
    if isinstance(exc, drf_exceptions.ParseError):
        return ApiError("invalid_request", f"Malformed request body: {exc.detail}")
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return ApiError(
            "invalid_request",
            f"Unsupported content type {exc.detail!s}".rstrip(".") + "; send application/json.",
            status=415,
        )
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return ApiError("unauthorized", str(exc.detail) if exc.detail else None)
    if isinstance(exc, (drf_exceptions.PermissionDenied, PermissionDenied)):
        return ApiError("forbidden")
    if isinstance(exc, (drf_exceptions.NotFound, Http404)):
        return NotFound()
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return ApiError("method_not_allowed", f"Method {exc.args[0]} is not allowed here.")
    if isinstance(exc, drf_exceptions.NotAcceptable):
        return ApiError("invalid_request", "This API only answers application/json.", status=406)
    if isinstance(exc, drf_exceptions.Throttled):
        return ApiError("rate_limited")
    if isinstance(exc, RequestDataTooBig):
        return ApiError("payload_too_large")
    if isinstance(exc, SuspiciousOperation):
        return InvalidRequest()
    if isinstance(exc, (OperationalError, InterfaceError, ConnectionError, RedisError)):
        return ApiError("unavailable")
    return ApiError("internal_error")


def log_server_error(exc: BaseException | None, status: int) -> None:
    """Log a 5xx with its traceback; the request id comes from the log filter."""
    logger.error(
        "request failed with %s",
        status,
        exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception under a DRF view answers the seed's shape."""
    error = api_error_from_exception(exc)
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


def json_error(code: str, message: str | None = None, *, status: int | None = None) -> JsonResponse:
    """An error response outside DRF (middleware, Django's handlers)."""
    entry = CATALOG[code]
    return JsonResponse(error_body(code, message or entry.message), status=status or entry.status)


# Django-level handlers, for what never reaches a DRF view.
def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return json_error("payload_too_large")
    return json_error("invalid_request")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error("forbidden", "You do not have access to this resource.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return json_error("not_found", f"No such path: {request.path}")


def handler500(request: HttpRequest) -> HttpResponse:
    return json_error("internal_error")
