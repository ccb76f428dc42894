"""OpenAPI: every operation documents the error shape, auth and our headers, once each.

What a view may answer besides its success comes from the parts it is made of: each
authentication, permission and throttle class names its error statuses in
`openapi_error_statuses`, and a view names those of its writes in
`openapi_write_error_statuses` (502 for writes that wait on a device), so this module knows
no app's classes. Errors and headers are shared components (`components/responses`,
`components/headers`, `components/parameters`) referenced by every operation, never copied
into each one.

Descriptions are what `extend_schema` says: docstrings are for the people reading the code
and are never published (a base class's docstring must not become every operation's text).

The document is generated once per process and served as bytes with an ETag
(`OpenApiDocumentView`): it cannot change while the process runs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_override
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from contract.errors import CATALOG
from contract.serializers import ErrorOutput, StrictInput
from contract.views import ApiView

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
EXAMPLE_REQUEST_ID = "req_Q2x9v1bN4mK7pL3sT8wY6zRc"
# Statuses whose code answers with another status than its catalog entry's.
STATUS_CODES_OVERRIDE = {415: ("invalid_request",)}

_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
# Every header the API answers with, described once (components/headers).
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "schema": {"type": "string", "pattern": "^req_[A-Za-z0-9_-]{24,}$"},
        "required": True,
        "description": "This request's id, also `request_id` in the body; quote it when "
        "reporting a problem.",
    },
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "`true` when this response is the stored response of an earlier "
        "request with the same `Idempotency-Key`.",
    },
    "RateLimit-Policy": {
        "schema": _STRING,
        "required": True,
        "description": 'The key\'s budget, e.g. `"default";q=120;w=60`.',
    },
    "RateLimit": {
        "schema": _STRING,
        "required": True,
        "description": 'What is left and when it resets, e.g. `"default";r=119;t=42`.',
    },
    "X-RateLimit-Limit": {
        "schema": _INTEGER,
        "required": True,
        "description": "Requests allowed per minute for this key.",
    },
    "X-RateLimit-Remaining": {
        "schema": _INTEGER,
        "required": True,
        "description": "Requests left in the current window.",
    },
    "X-RateLimit-Reset": {
        "schema": _INTEGER,
        "required": True,
        "description": "When the window resets (epoch seconds).",
    },
    "X-New-Contacts-Remaining": {
        "schema": {"type": "string", "pattern": "^([0-9]+|unlimited)$"},
        "description": "The sending handle's new-contact budget left after this send: slots "
        "for recipients it has never messaged, per rolling 24 hours, or `unlimited`. Absent "
        "on a replayed response (`Idempotent-Replayed`). docs/compliance.md.",
    },
    "Retry-After": {
        "schema": _INTEGER,
        "required": True,
        "description": "Seconds to wait before retrying.",
    },
    "WWW-Authenticate": {
        "schema": _STRING,
        "required": True,
        "description": 'The scheme to authenticate with, e.g. `Bearer realm="switchboard"`.',
    },
}
RATE_LIMIT_HEADERS = (
    "RateLimit-Policy",
    "RateLimit",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)
# Headers an error response carries besides X-Request-Id, and whether they always do.
ERROR_HEADERS: dict[int, dict[str, bool]] = {
    401: {"WWW-Authenticate": True},
    # A key over its budget gets the budget's headers too; an address over its failed
    # authentications only Retry-After.
    429: {"Retry-After": True, **dict.fromkeys(RATE_LIMIT_HEADERS, False)},
}

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "1 to 255 printable ASCII characters, no spaces. A retry with the same key "
    "and request replays the first response (`Idempotent-Replayed: true`); kept 24 hours.",
}


def _response_name(status: int) -> str:
    return re.sub(r"[^A-Za-z]", "", HTTPStatus(status).phrase.title())


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _error_codes(status: int) -> list[Any]:
    names = STATUS_CODES_OVERRIDE.get(status)
    if names:
        return [CATALOG[name] for name in names]
    return [entry for entry in CATALOG.values() if entry.status == status]


class SwitchboardAutoSchema(AutoSchema):
    """Adds the seed's error responses and the request-id, rate-limit and idempotency headers."""

    def _is_rate_limited(self) -> bool:
        return bool(self.view.get_throttles())

    def _takes_idempotency_key(self) -> bool:
        return self.method in UNSAFE and getattr(self.view, "idempotent_writes", False)

    def error_statuses(self) -> list[int]:
        statuses = [400, 500, 503]
        parts = [
            *self.view.get_authenticators(),
            *self.view.get_permissions(),
            *self.view.get_throttles(),
        ]
        for part in parts:
            statuses += getattr(part, "openapi_error_statuses", ())
        if "{" in self.path:
            statuses.append(404)
        if self.method in UNSAFE:
            statuses += [409, 413, 415]
            statuses += getattr(self.view, "openapi_write_error_statuses", ())
        if self._takes_idempotency_key():
            statuses.append(422)
        return sorted(set(statuses))

    # --- descriptions: only what extend_schema says ---------------------------------------
    def get_description(self) -> str:  # type: ignore[override]
        return ""

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        description = get_override(serializer, "description", None)
        if description:
            schema["description"] = description
        else:
            schema.pop("description", None)
        if direction == "request" and isinstance(serializer, StrictInput):
            # It answers 400 naming any field it does not know.
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and schema.get("type") == "string"
            and not {"pattern", "enum", "format"} & set(schema)
        ):
            # The value is trimmed before it is read: spaces alone are blank, a 400 naming it.
            schema["pattern"] = r"\S"
        return schema

    def _map_response_type_hint(self, method: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_response_type_hint(method)
        schema.pop("description", None)  # a method's docstring, not the API's
        return schema

    # --- shared components ------------------------------------------------------------------
    def _component(self, kind: str, name: str, body: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(name=name, type=kind, schema=body, object=name)
        self.registry.register_on_missing(component)
        return component.ref

    def _header(self, name: str, *, required: bool | None = None) -> dict[str, str]:
        body = dict(HEADERS[name])
        if required is not None:
            body["required"] = required
        suffix = "" if body.get("required") == HEADERS[name].get("required") else "Optional"
        return self._component(ResolvedComponent.HEADER, name.replace("-", "") + suffix, body)

    def _error_response(self, status: int) -> dict[str, str]:
        codes = _error_codes(status)
        headers = {"X-Request-Id": self._header("X-Request-Id")}
        for name, required in ERROR_HEADERS.get(status, {}).items():
            headers[name] = self._header(name, required=required)
        body = {
            "description": " ".join(f"`{entry.code}`: {entry.description}" for entry in codes),
            "headers": headers,
            "content": {
                "application/json": {
                    "schema": self.resolve_serializer(ErrorOutput, "response").ref,
                    "examples": {
                        entry.code: {
                            "value": {
                                "error": entry.code,
                                "message": entry.message,
                                "request_id": EXAMPLE_REQUEST_ID,
                            }
                        }
                        for entry in codes
                    },
                }
            },
        }
        return self._component(ResolvedComponent.RESPONSE, _response_name(status), body)

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            responses.setdefault(str(status), self._error_response(status))
        return responses

    def _get_response_headers_for_code(
        self, status_code: Any, direction: Any = "response"
    ) -> dict[str, Any]:
        headers = {"X-Request-Id": self._header("X-Request-Id")}
        if str(status_code).startswith("2"):
            if self._is_rate_limited():
                headers.update({name: self._header(name) for name in RATE_LIMIT_HEADERS})
            if self._takes_idempotency_key():
                headers["Idempotent-Replayed"] = self._header("Idempotent-Replayed")
            # What the view says it adds to this method's success (`openapi_success_headers`).
            extra = getattr(self.view, "openapi_success_headers", {}).get(self.method, ())
            headers.update({name: self._header(name) for name in extra})
        return headers

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if parameter.get("in") == "query" and schema.get("type") == "string":
                # No query parameter takes an empty value (`?chat_id=` is a 400 naming it,
                # never "no filter": contract.serializers, contract.pagination).
                schema.setdefault("minLength", 1)
        if self._takes_idempotency_key():
            parameters.insert(
                0,
                self._component(
                    ResolvedComponent.PARAMETER, "IdempotencyKey", IDEMPOTENCY_KEY_PARAMETER
                ),
            )
        return parameters


class SecretTokenScheme(OpenApiAuthenticationExtension):
    """Puts each `SecretTokenAuthentication` in the document as it describes itself."""

    target_class = "contract.auth.SecretTokenAuthentication"
    match_subclasses = True

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        self.name = target.openapi_scheme_name

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return dict(self.target.openapi_security_definition)


# --- serving the document -------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedDocument:
    content: bytes
    gzipped: bytes
    # One per representation (RFC 9110 §8.8.3): the gzipped bytes are another.
    etag: str
    gzip_etag: str


_document: RenderedDocument | None = None
_document_lock = threading.Lock()


def render_document() -> RenderedDocument:
    """The OpenAPI document of every route, generated on the first call of the process."""
    global _document
    with _document_lock:
        if _document is None:
            schema = SchemaGenerator().get_schema(request=None, public=True)
            content = (json.dumps(schema, indent=1, ensure_ascii=False) + "\n").encode()
            digest = hashlib.sha256(content).hexdigest()[:32]
            _document = RenderedDocument(
                content=content,
                gzipped=gzip.compress(content, mtime=0),
                etag=f'"{digest}"',
                gzip_etag=f'"{digest}-gzip"',
            )
        return _document


class _AnyAccept(BaseContentNegotiation):
    """The document is JSON whatever the client accepts (Redoc, YAML-minded tools)."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return None


class OpenApiDocumentView(ApiView):
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    content_negotiation_class = _AnyAccept
    # Clients and proxies may keep it five minutes, then revalidate with If-None-Match.
    cache_control = "public, max-age=300"

    @extend_schema(exclude=True)
    def get(self, request: Request) -> HttpResponse:
        document = render_document()
        gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        etag = document.gzip_etag if gzipped else document.etag
        response: HttpResponse
        if self._matches(request, {document.etag, document.gzip_etag}):
            response = HttpResponse(status=304)
        elif gzipped:
            response = HttpResponse(document.gzipped, content_type="application/json")
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(document.content, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = self.cache_control
        patch_vary_headers(response, ["Accept-Encoding"])
        return response

    @staticmethod
    def _matches(request: Request, etags: set[str]) -> bool:
        """Whether the client's copy, in either encoding, is the current document."""
        header = request.headers.get("If-None-Match")
        if not header:
            return False
        # Weak comparison (RFC 9110 §13.1.2): a proxy may have weakened our ETag.
        candidates = {tag.removeprefix("W/") for tag in parse_etags(header)}
        return "*" in candidates or bool(candidates & etags)
