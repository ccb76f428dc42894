from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import AccountApiView
from accounts.auth import request_account
from contract.caching import no_store
from contract.envelope import accepted, created, envelope, ok
from contract.pagination import PAGE_PARAMETERS, PAGE_PARAMS, paged_response
from webhooks import selectors, services
from webhooks.api.serializers import (
    DeliveryOutput,
    WebhookInput,
    WebhookOutput,
    WebhookUpdateInput,
    WebhookWithSecretOutput,
)

TAG = "webhooks"


class WebhookListView(AccountApiView):
    idempotency_redacted_fields = ("secret",)
    allowed_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        tags=[TAG],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(WebhookOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoint_list(account=request_account(request))
        return paged_response(request, endpoints, WebhookOutput)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Add a webhook endpoint",
        description=(
            "The URL must be a public http(s) endpoint (400 `invalid_url` otherwise). The "
            "response carries the signing `secret`, shown again only on rotation."
        ),
        tags=[TAG],
        request=WebhookInput,
        responses={201: envelope(WebhookWithSecretOutput)},
    )
    def post(self, request: Request) -> Response:
        data = WebhookInput.parse(request)
        endpoint = services.webhook_endpoint_create(account=request_account(request), **data)
        return no_store(created(WebhookWithSecretOutput(endpoint).data))


class WebhookDetailView(AccountApiView):
    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Get a webhook endpoint",
        tags=[TAG],
        responses={200: envelope(WebhookOutput)},
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        endpoint = selectors.endpoint_get(account=request_account(request), endpoint_id=webhook_id)
        return ok(WebhookOutput(endpoint).data)

    @extend_schema(
        operation_id="webhooks_update",
        summary="Change a webhook endpoint",
        description="`enabled: true` re-enables an endpoint Switchboard disabled.",
        tags=[TAG],
        request=WebhookUpdateInput,
        responses={200: envelope(WebhookOutput)},
    )
    def patch(self, request: Request, webhook_id: str) -> Response:
        data = WebhookUpdateInput.parse(request)
        endpoint = selectors.endpoint_get(account=request_account(request), endpoint_id=webhook_id)
        return ok(WebhookOutput(services.webhook_endpoint_update(endpoint=endpoint, **data)).data)

    @extend_schema(
        operation_id="webhooks_delete",
        summary="Delete a webhook endpoint",
        description="It receives nothing more; returns the deleted endpoint.",
        tags=[TAG],
        responses={200: envelope(WebhookOutput)},
    )
    def delete(self, request: Request, webhook_id: str) -> Response:
        endpoint = selectors.endpoint_get(account=request_account(request), endpoint_id=webhook_id)
        data = WebhookOutput(endpoint).data
        services.webhook_endpoint_delete(endpoint=endpoint)
        return ok(data)


class WebhookRotateSecretView(AccountApiView):
    idempotency_redacted_fields = ("secret",)

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate the signing secret",
        description="A new secret; for 24 hours the old one signs too (two signatures).",
        tags=[TAG],
        request=None,
        responses={200: envelope(WebhookWithSecretOutput)},
    )
    def post(self, request: Request, webhook_id: str) -> Response:
        endpoint = selectors.endpoint_get(account=request_account(request), endpoint_id=webhook_id)
        rotated = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        return no_store(ok(WebhookWithSecretOutput(rotated).data))


class WebhookTestView(AccountApiView):
    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a test event",
        description="A `webhook.test` event to this endpoint only; follow it in its deliveries.",
        tags=[TAG],
        request=None,
        responses={202: envelope(DeliveryOutput)},
    )
    def post(self, request: Request, webhook_id: str) -> Response:
        endpoint = selectors.endpoint_get(account=request_account(request), endpoint_id=webhook_id)
        delivery = services.webhook_endpoint_test(endpoint=endpoint)
        fresh = selectors.delivery_get(account=request_account(request), delivery_id=delivery.pk)
        return accepted(DeliveryOutput(fresh).data)


class WebhookDeliveriesView(AccountApiView):
    allowed_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="An endpoint's deliveries",
        description="Newest first, each with every attempt: time, status, duration, response "
        "excerpt or error.",
        tags=[TAG],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(DeliveryOutput, paginated=True)},
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        endpoint = selectors.endpoint_get(account=request_account(request), endpoint_id=webhook_id)
        return paged_response(request, selectors.delivery_list(endpoint=endpoint), DeliveryOutput)


class DeliveryRedeliverView(AccountApiView):
    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        summary="Redeliver",
        description="One more attempt now, with the same `webhook-id` so receivers de-duplicate.",
        tags=[TAG],
        request=None,
        responses={202: envelope(DeliveryOutput)},
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        account = request_account(request)
        delivery = selectors.delivery_get(account=account, delivery_id=delivery_id)
        services.webhook_redeliver(delivery=delivery)
        return accepted(
            DeliveryOutput(selectors.delivery_get(account=account, delivery_id=delivery_id)).data
        )
