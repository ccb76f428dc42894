"""OpenAPI generation: every operation documents the error shape, auth and our headers.

What a view may answer besides its success comes from the parts it is made of: each
authentication, permission and throttle class names its error statuses in
`openapi_error_statuses`, so this module knows no app's classes.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from contract.errors import CATALOG
from contract.serializers import ErrorOutput

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _error_response(status: int) -> OpenApiResponse:
    codes = [entry for entry in CATALOG.values() if entry.status == status]
    if status == 415:
        codes = [CATALOG["invalid_request"]]
    description = "; ".join(f"`{entry.code}`: {entry.description}" for entry in codes)
    examples = [
        OpenApiExample(
            entry.code,
            value={
                "error": entry.code,
                "message": entry.message,
                "request_id": "req_Q2x9v1bN4mK7pL3sT8wY6zRc",
            },
            response_only=True,
            status_codes=[str(status)],
        )
        for entry in codes
    ]
    return OpenApiResponse(ErrorOutput, description=description, examples=examples)


class SwitchboardAutoSchema(AutoSchema):
    """Adds the seed's error responses and the request-id, rate-limit and idempotency headers."""

    def _is_rate_limited(self) -> bool:
        return bool(self.view.get_throttles())

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
            statuses += [409, 413, 415, 422]
        return sorted(set(statuses))

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            responses.setdefault(
                str(status), self._get_response_for_code(_error_response(status), str(status))
            )
        return responses

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())
        parameters.append(
            OpenApiParameter(
                "X-Request-Id",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=True,
                description="The request id, also in the body; quote it when reporting a problem.",
            )
        )
        if self.method in UNSAFE:
            parameters += [
                OpenApiParameter(
                    "Idempotency-Key",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description=(
                        "1 to 255 printable ASCII characters. A retry with the same key and "
                        "body replays the first response; kept 24 hours."
                    ),
                ),
                OpenApiParameter(
                    "Idempotent-Replayed",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    response=True,
                    description="`true` when this response is a replay of a stored one.",
                ),
            ]
        if self._is_rate_limited():
            rate_headers = {
                "RateLimit-Policy": 'The budget, e.g. `"default";q=120;w=60`.',
                "RateLimit": 'What is left and when it resets, e.g. `"default";r=119;t=42`.',
                "X-RateLimit-Limit": "Requests allowed per minute for this key.",
                "X-RateLimit-Remaining": "Requests left in the current window.",
                "X-RateLimit-Reset": "When the window resets (epoch seconds).",
            }
            parameters += [
                OpenApiParameter(
                    name, OpenApiTypes.STR, OpenApiParameter.HEADER, response=True, description=d
                )
                for name, d in rate_headers.items()
            ]
            parameters.append(
                OpenApiParameter(
                    "Retry-After",
                    OpenApiTypes.INT,
                    OpenApiParameter.HEADER,
                    response=[429],
                    description="Seconds to wait before retrying.",
                )
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
