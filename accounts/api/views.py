from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api.base import AccountApiView
from accounts.api.serializers import (
    AccountOutput,
    ApiKeyCreatedOutput,
    ApiKeyCreateInput,
    ApiKeyOutput,
)
from accounts.auth import request_account
from contract.caching import no_store
from contract.envelope import created, envelope, ok
from contract.pagination import PAGE_PARAMETERS, PAGE_PARAMS, paged_response

EXAMPLE_ACCOUNT = {
    "id": "acct_4f9Qb7xK2mT8vZ1cR6nJ3hWd",
    "name": "Acme",
    "active": True,
    "rate_limit": 120,
    "created_at": "2026-11-26T22:40:37.123Z",
}


class AccountView(AccountApiView):
    @extend_schema(
        operation_id="account_retrieve",
        summary="The caller's account",
        description="The account the API key belongs to, with its request rate limit.",
        tags=["account"],
        responses={200: envelope(AccountOutput)},
        examples=[
            OpenApiExample(
                "Account",
                response_only=True,
                value={"data": EXAMPLE_ACCOUNT, "request_id": "req_Q2x9v1bN4mK7pL3sT8wY6zRc"},
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return ok(AccountOutput(request_account(request)).data)


class ApiKeyListView(AccountApiView):
    allowed_query_params = PAGE_PARAMS
    idempotency_redacted_fields = ("secret",)

    @extend_schema(
        operation_id="api_keys_list",
        summary="List API keys",
        description="The account's API keys, newest first (revoked ones included).",
        tags=["api keys"],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(ApiKeyOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        keys = selectors.api_key_list(account=request_account(request))
        return paged_response(request, keys, ApiKeyOutput)

    @extend_schema(
        operation_id="api_keys_create",
        summary="Create an API key",
        description="A new key of the caller's account. Its `secret` is in this response only.",
        tags=["api keys"],
        request=ApiKeyCreateInput,
        responses={201: envelope(ApiKeyCreatedOutput)},
    )
    def post(self, request: Request) -> Response:
        data = ApiKeyCreateInput.parse(request)
        issued = services.api_key_create(account=request_account(request), name=data["name"])
        return no_store(created({**ApiKeyOutput(issued.api_key).data, "secret": issued.secret}))


class ApiKeyDetailView(AccountApiView):
    @extend_schema(
        operation_id="api_keys_retrieve",
        summary="Get an API key",
        tags=["api keys"],
        responses={200: envelope(ApiKeyOutput)},
    )
    def get(self, request: Request, key_id: str) -> Response:
        api_key = selectors.api_key_get(account=request_account(request), key_id=key_id)
        return ok(ApiKeyOutput(api_key).data)

    @extend_schema(
        operation_id="api_keys_revoke",
        summary="Revoke an API key",
        description="Revoked at once: the key answers 401 from now on. Returns the revoked key.",
        tags=["api keys"],
        responses={200: envelope(ApiKeyOutput)},
    )
    def delete(self, request: Request, key_id: str) -> Response:
        api_key = selectors.api_key_get(account=request_account(request), key_id=key_id)
        return ok(ApiKeyOutput(services.api_key_revoke(api_key=api_key)).data)
