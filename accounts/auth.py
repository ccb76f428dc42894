"""API key authentication (`Authorization: Bearer sk_live_…`) and the active-account rule.

Wired as DRF's default authentication and permission in settings, so every `/v1/` view
has them unless it says otherwise (the device protocol and health checks do). A key is
remembered by the process for `SWITCHBOARD_API_KEY_CACHE_SECONDS` (`accounts.selectors`):
a key revoked (or an account deactivated) elsewhere stops working here within that window.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts import selectors, services
from accounts.models import Account, ApiKey
from contract.auth import SecretTokenAuthentication
from contract.errors import Forbidden, Unauthorized
from contract.ratelimit import failed_auth_check_deferred


class ApiKeyAuthentication(SecretTokenAuthentication):
    """Authenticate by API key; `request.auth` is the ApiKey, `request.user` stays None."""

    scheme = "Bearer"
    realm = "switchboard"
    missing_message = "Missing API key: send Authorization: Bearer <key>."
    invalid_message = "Invalid or revoked API key."
    openapi_scheme_name = "ApiKey"
    openapi_security_definition = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sk_live_…",
        "description": "An API key of your account: `Authorization: Bearer sk_live_…`.",
    }

    def remembered(self, secret: str) -> ApiKey | None:
        return selectors.api_key_remembered(secret=secret)

    def find(self, secret: str) -> ApiKey | None:
        return selectors.api_key_authenticate(secret=secret)

    def accepted(self, request: Request, principal: ApiKey) -> None:
        services.api_key_mark_used(api_key=principal)


class HasActiveAccount(BasePermission):
    """Only a key of an active account may act: an inactive account gets 403 `forbidden`."""

    openapi_error_statuses = (403,)

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise Unauthorized()
        if not api_key.account.is_active:
            # An address over its failed attempts learns nothing, not even this.
            failed_auth_check_deferred(request)
            raise Forbidden()
        return True


def request_account(request: Request) -> Account:
    """The account of the key that authenticated this request."""
    api_key = request.auth
    assert isinstance(api_key, ApiKey)
    return api_key.account
