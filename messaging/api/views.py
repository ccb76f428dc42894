from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import AccountApiView
from accounts.auth import request_account
from contract.envelope import accepted, created, envelope, ok
from contract.errors import InvalidRequest
from contract.pagination import PAGE_PARAMETERS, PAGE_PARAMS, paged_response
from handles.addresses import handle_normalize
from messaging import selectors
from messaging.api.outputs import ChatCreatedOutput, ChatOutput, MessageDetailOutput, MessageOutput
from messaging.api.serializers import (
    FILTER_NAMES,
    REACTION_TYPES,
    ChatCreateInput,
    ChatRenameInput,
    MessageCreateInput,
    MessageEditInput,
    MessageListQuery,
    ParticipantInput,
    ReactionInput,
)
from messaging.models import Reaction
from messaging.services import actions, groups, lifecycle, new_contacts, sending


class WaitsOnDeviceView(AccountApiView):
    """A view whose writes wait on the device: not run inside the idempotency transaction."""

    # The device must see its job committed (`handles.sync`), so the idempotent response is
    # stored after the work, not with it.
    idempotent_in_transaction = False
    # A device that fails or does not answer in time: 502 `*_failed`.
    openapi_write_error_statuses = (502,)


class MessageListView(AccountApiView):
    # A send writes rows and wakes the dispatcher after commit, nothing else.
    idempotency_checked_at_store = True
    openapi_success_headers = {"POST": (new_contacts.HEADER,)}
    allowed_query_params = FILTER_NAMES

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
        return paged_response(request, messages, MessageOutput)

    @extend_schema(
        operation_id="messages_send",
        summary="Send a message",
        description=(
            "Accepted for sending: answers 202 once the message is stored, then it goes out "
            "through its handle at that handle's pace (never rejected for pacing). Follow "
            "its status by GET or webhooks. Send an `Idempotency-Key` so a retry cannot "
            "send twice. A send to recipients the handle has never messaged takes its "
            "new-contact budget; when none is left (or its line is critical) the message is "
            "held: `scheduled`, `reason` `new_contact_budget` (or `line_health`), released "
            "in order when it may go. `X-New-Contacts-Remaining` says what is left."
        ),
        tags=["messages"],
        request=MessageCreateInput,
        responses={202: envelope(MessageOutput)},
    )
    def post(self, request: Request) -> Response:
        data = MessageCreateInput.parse(request)
        message = sending.message_send(account=request_account(request), **data)
        response = accepted(sending.message_accepted_data(message))
        remaining = message.new_contacts_remaining  # type: ignore[attr-defined]
        response[new_contacts.HEADER] = "unlimited" if remaining is None else str(remaining)
        return response


class MessageDetailView(WaitsOnDeviceView):
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

    @extend_schema(
        operation_id="messages_edit",
        summary="Edit a sent message",
        description=(
            "iMessage and WhatsApp only (SMS or inbound: 409 `conflict`). Synchronous through "
            "the device: 502 `edit_failed` when it fails or does not answer in time, 503 "
            "`device_offline` when it is offline. The previous text is kept in `edit_history`."
        ),
        tags=["messages"],
        request=MessageEditInput,
        responses={200: envelope(MessageDetailOutput)},
    )
    def patch(self, request: Request, message_id: str) -> Response:
        data = MessageEditInput.parse(request)
        account = request_account(request)
        message = selectors.message_get(account=account, message_id=message_id)
        actions.message_edit(message=message, text=data["text"])
        fresh = selectors.message_get(account=account, message_id=message_id)
        return ok(MessageDetailOutput(fresh).data)


class MessageRetryView(AccountApiView):
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
        return ok(MessageOutput(lifecycle.message_retry(message=message)).data)


class MessageCancelView(AccountApiView):
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
        return ok(MessageOutput(lifecycle.message_cancel(message=message)).data)


class ChatListView(WaitsOnDeviceView):
    allowed_query_params = PAGE_PARAMS

    @extend_schema(
        operation_id="chats_list",
        summary="List chats",
        tags=["chats"],
        parameters=PAGE_PARAMETERS,
        responses={200: envelope(ChatOutput, paginated=True)},
    )
    def get(self, request: Request) -> Response:
        chats = selectors.chat_list(account=request_account(request))
        return paged_response(request, chats, ChatOutput)

    @extend_schema(
        operation_id="chats_create",
        summary="Create a group",
        description=(
            "A group of 2+ people on one of your iMessage handles, optionally named and with "
            "a first message. Synchronous through the device (502 `group_update_failed`)."
        ),
        tags=["chats"],
        request=ChatCreateInput,
        responses={201: envelope(ChatCreatedOutput)},
    )
    def post(self, request: Request) -> Response:
        data = ChatCreateInput.parse(request)
        chat, message = groups.group_create(account=request_account(request), **data)
        return created(ChatCreatedOutput({"chat": chat, "message": message}).data)


class ChatDetailView(WaitsOnDeviceView):
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

    @extend_schema(
        operation_id="chats_rename",
        summary="Rename a group",
        description="On a direct message: 409 `not_a_group`.",
        tags=["chats"],
        request=ChatRenameInput,
        responses={200: envelope(ChatOutput)},
    )
    def patch(self, request: Request, chat_id: str) -> Response:
        data = ChatRenameInput.parse(request)
        chat = selectors.chat_get(account=request_account(request), chat_id=chat_id)
        return ok(ChatOutput(groups.group_rename(chat=chat, name=data["name"])).data)


class ChatMessagesView(AccountApiView):
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
        messages = selectors.message_list(account=account, filters={"chat_id": chat.pk})
        return paged_response(request, messages, MessageOutput)


class ReactionsView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="messages_react",
        summary="React to a message",
        description=(
            "`love, like, dislike, laugh, emphasize, question`. Only once the message is "
            "delivered, never on SMS (409 `conflict`). Synchronous through the device "
            "(502 `reaction_failed`, 503 `device_offline`)."
        ),
        tags=["messages"],
        request=ReactionInput,
        responses={200: envelope(MessageOutput)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        data = ReactionInput.parse(request)
        account = request_account(request)
        message = selectors.message_get(account=account, message_id=message_id)
        actions.reaction_add(message=message, type=data["type"])
        return ok(MessageOutput(selectors.message_get(account=account, message_id=message_id)).data)


class ReactionView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="messages_unreact",
        summary="Remove your reaction",
        description="Synchronous through the device (502 `reaction_failed`, 503 `device_offline`).",
        tags=["messages"],
        parameters=[
            OpenApiParameter("reaction_type", str, OpenApiParameter.PATH, enum=REACTION_TYPES)
        ],
        responses={200: envelope(MessageOutput)},
    )
    def delete(self, request: Request, message_id: str, reaction_type: str) -> Response:
        if reaction_type not in Reaction.Type.values:
            raise InvalidRequest(
                f"Unknown reaction {reaction_type!r}.",
                fields={"type": [f"One of {', '.join(Reaction.Type.values)}."]},
            )
        account = request_account(request)
        message = selectors.message_get(account=account, message_id=message_id)
        actions.reaction_remove(message=message, type=reaction_type)
        return ok(MessageOutput(selectors.message_get(account=account, message_id=message_id)).data)


class MessageUnsendView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="messages_unsend",
        summary="Unsend a message",
        description="An iMessage you sent, within 2 minutes of `sent_at` (else 409). "
        "Synchronous through the device (502 `unsend_failed`).",
        tags=["messages"],
        request=None,
        responses={200: envelope(MessageOutput)},
    )
    def post(self, request: Request, message_id: str) -> Response:
        account = request_account(request)
        message = selectors.message_get(account=account, message_id=message_id)
        return ok(MessageOutput(actions.message_unsend(message=message)).data)


class ChatParticipantsView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="chats_participants_add",
        summary="Add someone to a group",
        tags=["chats"],
        request=ParticipantInput,
        responses={200: envelope(ChatOutput)},
    )
    def post(self, request: Request, chat_id: str) -> Response:
        data = ParticipantInput.parse(request)
        chat = selectors.chat_get(account=request_account(request), chat_id=chat_id)
        return ok(ChatOutput(groups.group_add(chat=chat, participant=data["handle"])).data)


class ChatParticipantView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="chats_participants_remove",
        summary="Remove someone from a group",
        tags=["chats"],
        responses={200: envelope(ChatOutput)},
    )
    def delete(self, request: Request, chat_id: str, handle: str) -> Response:
        participant = handle_normalize(handle)
        chat = selectors.chat_get(account=request_account(request), chat_id=chat_id)
        return ok(ChatOutput(groups.group_remove(chat=chat, participant=participant)).data)


class ChatTypingView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="chats_typing",
        summary="Show a typing indicator",
        tags=["chats"],
        request=None,
        responses={200: envelope(ChatOutput)},
    )
    def post(self, request: Request, chat_id: str) -> Response:
        chat = selectors.chat_get(account=request_account(request), chat_id=chat_id)
        return ok(ChatOutput(actions.chat_typing(chat=chat)).data)


class ChatReadView(WaitsOnDeviceView):
    @extend_schema(
        operation_id="chats_read",
        summary="Mark a chat as read",
        tags=["chats"],
        request=None,
        responses={200: envelope(ChatOutput)},
    )
    def post(self, request: Request, chat_id: str) -> Response:
        chat = selectors.chat_get(account=request_account(request), chat_id=chat_id)
        return ok(ChatOutput(actions.chat_read(chat=chat)).data)
