"""The error catalog, and the errors services raise by its codes.

Every code the platform answers with is in `CATALOG`, with its HTTP status, default
message and when it happens (docs/errors.md lists them all). Services raise a
`DomainError` subclass that names what went wrong (`NotFound`, `Conflict`; apps add their
own, such as `handles.errors.DeviceOffline`), each carrying its catalog code; the API's
exception handler (`contract.error_handling`) turns it into the seed's shape, and admin,
commands and the dashboard catch the same classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


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
        "or malformed JSON. Also answered with 415 when the content type is not JSON, 414 "
        "when the URI is over 4,096 bytes and 431 when the headers are over 16 KiB.",
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
        "recipient_opted_out",
        409,
        "The recipient opted out of messages from this account.",
        "A send to a recipient who opted out of your account (they replied STOP, or you or "
        "an operator added them), or to a group with one unless the account allows it. "
        "Nothing was queued.",
    ),
    ErrorCode(
        "length_required",
        411,
        "A request body needs a Content-Length (or chunked transfer through the server).",
        "A chunked body reached a server that cannot say where it ends (the development "
        "server); send Content-Length. The production server (gunicorn) reads chunked bodies.",
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


class DomainError(Exception):
    """Something went wrong that the caller is told about, by its catalog `code`."""

    code: ClassVar[str]
    # Only where one code is answered with another status (415, 406 for invalid_request).
    status_override: ClassVar[int | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or CATALOG[self.code].message
        self.fields = fields
        self.headers = headers or {}
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return self.status_override or CATALOG[self.code].status


class InvalidRequest(DomainError):
    code = "invalid_request"


class UnsupportedMediaType(InvalidRequest):
    status_override = 415


class NotAcceptable(InvalidRequest):
    status_override = 406


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"


class Conflict(DomainError):
    code = "conflict"


class LengthRequired(DomainError):
    code = "length_required"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class RateLimited(DomainError):
    code = "rate_limited"


class InternalError(DomainError):
    code = "internal_error"


class Unavailable(DomainError):
    code = "unavailable"
