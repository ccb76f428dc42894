"""`/v1/opt-outs`: the recipients who opted out of the account, added and removed by the
account too (docs/compliance.md, "Opt-outs")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import AccountApiView
from accounts.auth import request_account
from contract.envelope import created, envelope, ok
from contract.pagination import PAGE_PARAMETERS, PAGE_PARAMS, paged_response
from contract.serializers import StrictInput, Timestamp
from handles.addresses import handle_normalize
from messaging import selectors
from messaging.api.serializers import HandleField
from messaging.events import opt_out_data
from messaging.models import OptOut
from messaging.services import opt_outs

TAG = "opt-outs"


class OptOutOutput(serializers.Serializer):
    """An opt-out: fields for the document, values from `opt_out_data`."""

    recipient = serializers.CharField(help_text="The recipient's handle, normalized.")
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=OptOut.Source.choices,
        help_text="`keyword`: they replied STOP (or a synonym); `api`: your account added it; "
        "`operator`: a Switchboard operator did.",
    )
    reason = serializers.CharField(help_text="Free text; the keyword they sent, for `keyword`.")
    created_at = Timestamp()

    def to_representation(self, instance: OptOut) -> dict[str, Any]:
        return opt_out_data(instance)


class OptOutCreateInput(StrictInput):
    recipient = HandleField(help_text="E.164 number or iMessage email.")
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class OptOutListView(AccountApiView):
    allowed_query_params = PAGE_PARAMS | {"recipient"}

    @extend_schema(
        operation_id="opt_outs_list",
        summary="List opt-outs",
        description="Newest first. No handle of your account messages these recipients, on "
        "any channel, until they opt back in (START) or you remove them.",
        tags=[TAG],
        parameters=[
            OpenApiParameter("recipient", str, description="Only this recipient's opt-out."),
            *PAGE_PARAMETERS,
        ],
        responses={200: envelope(OptOutOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("recipient")
        recipient = None if raw is None else handle_normalize(raw, field="recipient")
        found = selectors.opt_out_list(account=request_account(request), recipient=recipient)
        return paged_response(request, found, OptOutOutput)

    @extend_schema(
        operation_id="opt_outs_create",
        summary="Opt a recipient out",
        description="201 with the new opt-out (`source: api`); 200 with the existing one when "
        "they had already opted out. What still waits to go to them (queued or scheduled) "
        "fails with `recipient_opted_out`; `contact.opted_out` is published.",
        tags=[TAG],
        request=OptOutCreateInput,
        responses={201: envelope(OptOutOutput), 200: envelope(OptOutOutput)},
    )
    def post(self, request: Request) -> Response:
        data = OptOutCreateInput.parse(request)
        change = opt_outs.opt_out_add(
            account=request_account(request),
            recipient=data["recipient"],
            source=OptOut.Source.API,
            reason=data["reason"],
        )
        body = OptOutOutput(change.opt_out).data
        return created(body) if change.changed else ok(body)


class OptOutDetailView(AccountApiView):
    @extend_schema(
        operation_id="opt_outs_delete",
        summary="Opt a recipient back in",
        description="The recipient in the path, URL-encoded (`%2B14155550123`). Returns the "
        "removed opt-out; `contact.opted_in` is published. 404 when they have not opted out.",
        tags=[TAG],
        responses={200: envelope(OptOutOutput)},
    )
    def delete(self, request: Request, recipient: str) -> Response:
        account = request_account(request)
        address = handle_normalize(recipient, field="recipient")
        opt_out = selectors.opt_out_get(account=account, recipient=address)
        removed = opt_outs.opt_out_remove(
            account=account, recipient=opt_out.recipient, source=OptOut.Source.API
        )
        return ok(OptOutOutput(removed or opt_out).data)
