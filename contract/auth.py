"""Secret-token authentication, `Authorization: <Scheme> <secret>`, once for every scheme.

API keys (`accounts.auth`) and device tokens (`handles.device.auth`) differ only in their
scheme, their messages and how a secret is looked up; failed attempts count against the
client address (see `contract.ratelimit`) before any lookup is made. A secret the process
still remembers (`remembered`, no lookup at all) leaves that check to be made later in the
request, in the same Redis round trip as the key's budget where there is one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from contract.errors import Unauthorized
from contract.ratelimit import failed_auth_check, failed_auth_defer, failed_auth_record


class SecretTokenAuthentication(BaseAuthentication):
    """`request.auth` becomes what `find` returns for the secret; `request.user` stays None."""

    scheme: ClassVar[str]  # e.g. "Bearer"
    realm: ClassVar[str]
    missing_message: ClassVar[str]
    invalid_message: ClassVar[str]
    # Read by the OpenAPI generator (contract.schema): what authenticating may answer (429:
    # failed attempts), and the scheme's name and definition in `components.securitySchemes`.
    openapi_error_statuses = (401, 429)
    openapi_scheme_name: ClassVar[str]
    openapi_security_definition: ClassVar[dict[str, str]]

    def find(self, secret: str) -> Any | None:
        """The principal this secret belongs to, or None."""
        raise NotImplementedError

    def remembered(self, secret: str) -> Any | None:
        """The principal of this secret if this process holds it in memory (no lookup)."""
        return None

    def accepted(self, request: Request, principal: Any) -> None:
        """Called once the secret is good (record its use, say)."""

    def authenticate(self, request: Request) -> tuple[None, Any]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip() if scheme.lower() == self.scheme.lower() else ""
        principal = self.remembered(secret) if secret else None
        if principal is not None:
            failed_auth_defer(request)
            self.accepted(request, principal)
            return (None, principal)
        failed_auth_check(request)
        if not header:
            raise Unauthorized(self.missing_message)
        if secret:
            principal = self.find(secret)
        if principal is None:
            failed_auth_record(request)
            raise Unauthorized(self.invalid_message)
        self.accepted(request, principal)
        return (None, principal)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.scheme} realm="{self.realm}"'
