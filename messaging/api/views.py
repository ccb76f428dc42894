from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.auth import request_account
from config.api.envelope import accepted, envelope, ok, page
from config.api.pagination import PAGE_PARAMS, paginate
from config.api.views import ApiView
from messaging import selectors, services
from messaging.api.serializers import (
    FILTER_NAMES,
    ChatOutput,
    MessageCreateInput,
    MessageDetailOutput,
    MessageListQuery,
    MessageOutput,
)

PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="1 to 100 (default 50)."),
    OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
]


def _message_page(request: Request, messages: object) -> Response:
    result = paginate(request, messages)  # type: ignore[arg-type]
    return page(
        list(MessageOutput(result.rows, many=True).data),
        has_more=result.has_more,
        next_cursor=result.next_cursor,
    )


class MessageListView(ApiView):
    def allowed_query_params_for(self, request: Request) -> frozenset[str]:
        return FILTER_NAMES if request.method == "GET" else frozenset()

    @extend_schema(
        operation_id="messages_list",
        summary="List messages",
        description="Newest first. Every filter narrows the list; all are optional.",
        tags=["messages"],
        parameters=[MessageListQuery],
        responses={200: envelope(MessageOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        query = MessageListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages = selectors.message_list(
            account=request_account(request), filters=dict(query.validated_data)
        )
        return _message_page(request, messages)

    @extend_schema(
        operation_id="messages_send",
        summary="Send a message",
        description=(
            "Accepted for sending: answers 202 once the message is stored, then it goes out "
            "through its handle at that handle's pace (never rejected for pacing). Follow "
            "its status by GET or webhooks. Send an `Idempotency-Key` so a retry cannot "
            "send twice."
        ),
        tags=["messages"],
        request=MessageCreateInput,
        responses={202: envelope(MessageOutput)},
    )
    def post(self, request: Request) -> Response:
        data = MessageCreateInput.parse(request)
        message = services.message_send(account=request_account(request), **data)
        return accepted(MessageOutput(message).data)


class MessageDetailView(ApiView):
    @extend_schema(
        operation_id="messages_retrieve",
        summary="Get a message",
        description="With `status_history`: every transition, when and why, in order.",
        tags=["messages"],
        responses={200: envelope(MessageDetailOutput)},
    )
    def get(self, request: Request, message_id: str) -> Response:
        message = selectors.message_get(account=request_account(request), message_id=message_id)
        return ok(MessageDetailOutput(message).data)


class MessageRetryView(ApiView):
    @extend_schema(
        operation_id="messages_retry",
        summary="Retry a failed message",
        description="Only a `failed` message (else 409 `conflict`): back to `queued`, same id, "
        "`attempts` + 1.",
        tags=["messages"],
        request=None,
        responses={200: envelope(MessageOutput)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        message = selectors.message_get(account=request_account(request), message_id=message_id)
        return ok(MessageOutput(services.message_retry(message=message)).data)


class MessageCancelView(ApiView):
    @extend_schema(
        operation_id="messages_cancel",
        summary="Cancel a scheduled or queued message",
        description="It becomes `failed` with `error.code = canceled` and never goes out. A "
        "message already handed to the device is a 409 `conflict`.",
        tags=["messages"],
        request=None,
        responses={200: envelope(MessageOutput)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        message = selectors.message_get(account=request_account(request), message_id=message_id)
        return ok(MessageOutput(services.message_cancel(message=message)).data)


class ChatListView(ApiView):
    allowed_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="chats_list",
        summary="List chats",
        tags=["chats"],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(ChatOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        result = paginate(request, selectors.chat_list(account=request_account(request)))
        return page(
            list(ChatOutput(result.rows, many=True).data),
            has_more=result.has_more,
            next_cursor=result.next_cursor,
        )


class ChatDetailView(ApiView):
    @extend_schema(
        operation_id="chats_retrieve",
        summary="Get a chat",
        tags=["chats"],
        responses={200: envelope(ChatOutput)},
    )
    def get(self, request: Request, chat_id: str) -> Response:
        return ok(
            ChatOutput(selectors.chat_get(account=request_account(request), chat_id=chat_id)).data
        )


class ChatMessagesView(ApiView):
    allowed_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="chats_messages",
        summary="A chat's messages",
        description="Newest first, both directions.",
        tags=["chats"],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(MessageOutput, paginated=True)},
    )
    def get(self, request: Request, chat_id: str) -> Response:
        account = request_account(request)
        chat = selectors.chat_get(account=account, chat_id=chat_id)
        return _message_page(
            request, selectors.message_list(account=account, filters={"chat_id": chat.pk})
        )
