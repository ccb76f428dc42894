"""API key authentication (`Authorization: Bearer sk_live_…`) and the active-account rule."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts import selectors, services
from accounts.models import Account, ApiKey
from config.api.errors import ApiError
from config.api.ratelimit import failed_auth_check, failed_auth_record


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate by API key; `request.auth` is the ApiKey, `request.user` stays None."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, ApiKey]:
        failed_auth_check(request)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise ApiError("unauthorized", "Missing API key: send Authorization: Bearer <key>.")
        scheme, _, secret = header.partition(" ")
        api_key = None
        if scheme.lower() == "bearer" and secret.strip():
            api_key = selectors.api_key_get_by_secret(secret=secret.strip())
        if api_key is None:
            failed_auth_record(request)
            raise ApiError("unauthorized", "Invalid or revoked API key.")
        services.api_key_mark_used(api_key=api_key)
        request._request.account = api_key.account  # type: ignore[attr-defined]
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="switchboard"'


class HasActiveAccount(BasePermission):
    """Only a key of an active account may act: an inactive account gets 403 `forbidden`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise ApiError("unauthorized")
        if not api_key.account.is_active:
            raise ApiError("forbidden")
        return True


def request_account(request: Request) -> Account:
    """The account of the key that authenticated this request."""
    api_key = request.auth
    assert isinstance(api_key, ApiKey)
    return api_key.account
