from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import AccountApiView
from accounts.auth import request_account
from contract.envelope import envelope, ok, page
from contract.errors import InvalidRequest
from contract.pagination import PAGE_PARAMETERS, PAGE_PARAMS, paginate
from handles import selectors
from handles.addresses import handle_normalize
from handles.api.serializers import HandleOutput, LookupOutput

TAG = "handles"


class HandleListView(AccountApiView):
    allowed_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="handles_list",
        summary="List sending handles",
        description="The numbers and iMessage emails assigned to the account, newest first.",
        tags=[TAG],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(HandleOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        result = paginate(request, selectors.handle_list(account=request_account(request)))
        context = {
            "queue_depths": selectors.queue_depths(result.rows),
            "new_contacts": selectors.new_contacts_usage(result.rows),
        }
        return page(
            list(HandleOutput(result.rows, many=True, context=context).data),
            has_more=result.has_more,
            next_cursor=result.next_cursor,
        )


class HandleDetailView(AccountApiView):
    @extend_schema(
        operation_id="handles_retrieve",
        summary="Get a sending handle",
        description="By its address: `+14155550123` (a `+` in a path needs no escaping) or "
        "an email. Another account's handle is 404.",
        tags=[TAG],
        responses={200: envelope(HandleOutput)},
    )
    def get(self, request: Request, handle: str) -> Response:
        address = handle_normalize(handle)
        found = selectors.handle_get(account=request_account(request), address=address)
        context = {
            "queue_depths": selectors.queue_depths([found]),
            "new_contacts": selectors.new_contacts_usage([found]),
        }
        return ok(HandleOutput(found, context=context).data)


class LookupView(AccountApiView):
    allowed_query_params = frozenset({"handle"})

    @extend_schema(
        operation_id="lookup",
        summary="Is a recipient on iMessage / WhatsApp?",
        description=(
            "As last reported by one of the account's devices, with `checked_at`. A recipient "
            "no device has checked yet is `null`, not a guess."
        ),
        tags=[TAG],
        parameters=[OpenApiParameter("handle", str, required=True, description="E.164 or email.")],
        responses={200: envelope(LookupOutput)},
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("handle")
        if raw is None:
            raise InvalidRequest("handle is required.", fields={"handle": ["Required."]})
        if raw.startswith(" ") and raw[1:].isdigit():
            # `?handle=+1415…` unescaped arrives as " 1415…": the `+` is what was meant.
            raw = "+" + raw[1:]
        address = handle_normalize(raw)
        capability = selectors.capability_get(account=request_account(request), address=address)
        return ok(LookupOutput(LookupOutput.of(address, capability)).data)
