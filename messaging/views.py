"""Dashboard pages of messaging: the overview, conversations, the message log, sending.

Every page is a bounded number of queries whatever the number of messages: the overview
reads the daily rollup (`DailyCount`), lists are keyset-paged or capped, and a thread shows
its last 50 messages. Conversations refresh with htmx polling (every 2 s, the thread only):
no connection is held open, so it works through any proxy and costs a web thread nothing
between polls; without JavaScript a reload shows the same.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from django.contrib import messages as notices
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.dashboard import Seat, account_page, render_page
from contract.errors import DomainError, InvalidRequest
from contract.pagination import paginate
from handles import selectors as handle_selectors
from messaging import selectors
from messaging.forms import ComposeForm, MessageFilterForm, NewMessageForm
from messaging.models import Chat, Message
from messaging.services import lifecycle, sending
from webhooks import selectors as webhook_selectors

CHART_DAYS = 14
# Types a browser may show inline from our origin; anything else is a download.
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
OUTCOMES = ("sent", "delivered", "read", "failed", "received")


# --- overview ------------------------------------------------------------------------------


def _totals(rows: list[dict[str, int]]) -> dict[str, Any]:
    """Sums over days, and the delivery rate: of the messages that came to an end (delivered
    or failed), the share delivered."""
    totals: dict[str, Any] = {name: sum(row.get(name) or 0 for row in rows) for name in OUTCOMES}
    ended = totals["delivered"] + totals["failed"]
    totals["delivery_rate"] = None if not ended else round(100 * totals["delivered"] / ended, 1)
    return totals


def _chart(days: list[Any], rows: list[dict[str, int]]) -> dict[str, Any]:
    """Bars of sent, delivered and failed a day, as SVG geometry (drawn by the template)."""
    height, bar, gap = 160, 9, 10
    peak = max([max(r.get("sent", 0), r.get("failed", 0)) for r in rows] + [1])
    columns = []
    for index, (day, row) in enumerate(zip(days, rows, strict=True)):
        x = 30 + index * (3 * bar + gap)
        bars = []
        for offset, name in enumerate(("sent", "delivered", "failed")):
            value = row.get(name, 0) or 0
            tall = round(height * value / peak)
            bars.append({"name": name, "x": x + offset * bar, "y": height - tall, "h": tall})
        columns.append({"day": day, "x": x, "bars": bars, "row": row})
    return {"columns": columns, "peak": peak, "width": 30 + CHART_DAYS * (3 * bar + gap)}


@account_page()
def overview(request: HttpRequest, seat: Seat) -> HttpResponse:
    account = seat.account
    today = timezone.now().astimezone(UTC).date()
    days = [today - timedelta(days=CHART_DAYS - 1 - n) for n in range(CHART_DAYS)]
    counts = selectors.daily_counts(account=account, since=days[0])
    rows = [counts.get(day, {}) for day in days]
    handles = list(handle_selectors.handle_list(account=account).order_by("address")[:50])
    return render_page(
        request,
        seat,
        "messaging/overview.html",
        {
            "section": "overview",
            "today": _totals(rows[-1:]),
            "week": _totals(rows[-7:]),
            "chart": _chart(days, rows),
            "handles": handles,
            "queue_depths": handle_selectors.queue_depths(handles),
            "failures": selectors.recent_failures(account=account),
            "failing_endpoints": webhook_selectors.endpoints_failing(account=account),
        },
    )


# --- conversations ---------------------------------------------------------------------


def _conversation(
    request: HttpRequest, seat: Seat, chat: Chat | None, form: ComposeForm | None = None
) -> TemplateResponse:
    return render_page(
        request,
        seat,
        "messaging/chats.html",
        {
            "section": "chats",
            "chats": selectors.chats_recent(account=seat.account),
            "chat": chat,
            "thread": selectors.chat_thread(chat=chat) if chat else [],
            "form": form or ComposeForm(),
        },
    )


@account_page()
def chat_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    return _conversation(request, seat, None)


@account_page()
def chat_detail(request: HttpRequest, seat: Seat, chat_id: str) -> HttpResponse:
    chat = selectors.chat_get(account=seat.account, chat_id=chat_id)
    return _conversation(request, seat, chat)


@account_page()
def chat_thread(request: HttpRequest, seat: Seat, chat_id: str) -> HttpResponse:
    """The thread alone, for htmx to poll."""
    chat = selectors.chat_get(account=seat.account, chat_id=chat_id)
    return TemplateResponse(
        request,
        "messaging/_thread.html",
        {"account": seat.account, "chat": chat, "thread": selectors.chat_thread(chat=chat)},
    )


@account_page()
@require_POST
def chat_send(request: HttpRequest, seat: Seat, chat_id: str) -> HttpResponse:
    """Send into the conversation; htmx gets the thread and a fresh form, a plain form post
    a redirect back to the conversation."""
    chat = selectors.chat_get(account=seat.account, chat_id=chat_id)
    form = ComposeForm(request.POST)
    if form.is_valid():
        try:
            sending.message_send_once(
                account=seat.account,
                key=form.cleaned_data["submission"],
                chat_id=chat.pk,
                text=form.cleaned_data["text"],
            )
        except DomainError as error:
            form.add_error("text", error.message)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return redirect("dashboard-chat", account_id=seat.account.pk, chat_id=chat.pk)
            form = ComposeForm()
    if request.htmx:  # type: ignore[attr-defined]
        context = {"account": seat.account, "seat": seat, "chat": chat, "form": form}
        return TemplateResponse(
            request,
            "messaging/_sent.html",
            # 200 even for a form with errors: htmx swaps only successful answers.
            {**context, "thread": selectors.chat_thread(chat=chat)},
        )
    response = _conversation(request, seat, chat, form)
    response.status_code = 400
    return response


# --- the message log -------------------------------------------------------------------


def _handle_addresses(seat: Seat) -> list[str]:
    return list(
        handle_selectors.handle_list(account=seat.account)
        .order_by("address")
        .values_list("address", flat=True)
    )


@account_page()
def message_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    form = MessageFilterForm(request.GET or None, handles=_handle_addresses(seat))
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {name: value for name, value in data.items() if value}
        filters["since"] = data.get("created_after")
        filters["until"] = data.get("created_before")
        filters.pop("created_after", None)
        filters.pop("created_before", None)
    messages = selectors.message_search(account=seat.account, filters=filters)
    try:
        page = paginate(request, messages)
    except InvalidRequest as error:  # a cursor or limit that is not ours
        raise BadRequest(error.message) from error
    query = request.GET.copy()
    query.pop("cursor", None)
    return render_page(
        request,
        seat,
        "messaging/message_list.html",
        {"section": "messages", "form": form, "page": page, "query": query.urlencode()},
    )


@account_page()
def message_detail(request: HttpRequest, seat: Seat, message_id: str) -> HttpResponse:
    message = selectors.message_get(account=seat.account, message_id=message_id)
    deliveries = webhook_selectors.deliveries_about(account=seat.account, subject=message.pk)
    return render_page(
        request,
        seat,
        "messaging/message_detail.html",
        {"section": "messages", "message": message, "deliveries": list(deliveries[:50])},
    )


@account_page()
@require_POST
def message_retry(request: HttpRequest, seat: Seat, message_id: str) -> HttpResponse:
    message = selectors.message_get(account=seat.account, message_id=message_id)
    _act(request, lifecycle.message_retry, message, "Queued again.")
    return redirect("dashboard-message", account_id=seat.account.pk, message_id=message.pk)


@account_page()
@require_POST
def message_cancel(request: HttpRequest, seat: Seat, message_id: str) -> HttpResponse:
    message = selectors.message_get(account=seat.account, message_id=message_id)
    _act(request, lifecycle.message_cancel, message, "Canceled: it will not be sent.")
    return redirect("dashboard-message", account_id=seat.account.pk, message_id=message.pk)


def _act(request: HttpRequest, action: Any, message: Message, done: str) -> None:
    try:
        action(message=message)
    except DomainError as error:
        notices.error(request, error.message)
    else:
        notices.success(request, done)


@account_page()
def message_new(request: HttpRequest, seat: Seat) -> HttpResponse:
    if not seat.can_write:  # the form leads only to a send
        raise PermissionDenied("Your role cannot send messages.")
    handles = _handle_addresses(seat)
    form = NewMessageForm(request.POST or None, handles=handles)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            message = sending.message_send_once(
                account=seat.account,
                key=data["submission"],
                to=data["to"],
                from_handle=data["from_handle"] or None,
                channel=data["channel"],
                text=data["text"],
            )
        except DomainError as error:
            for field, problems in (error.fields or {"text": [error.message]}).items():
                form.add_error(field if field in form.fields else None, problems[0])
        else:
            notices.success(request, "Accepted: it goes out at its handle's pace.")
            return redirect("dashboard-chat", account_id=seat.account.pk, chat_id=message.chat_id)
    response = render_page(
        request, seat, "messaging/message_new.html", {"section": "messages", "form": form}
    )
    if form.is_bound and not form.is_valid():
        response.status_code = 400
    return response


@account_page()
def attachment_content(request: HttpRequest, seat: Seat, attachment_id: str) -> FileResponse:
    """An attachment's bytes: the safe image types inline (thread previews), the rest as a
    download, never interpreted by the browser (nosniff, a sandboxing policy)."""
    attachment = selectors.attachment_get(account=seat.account, attachment_id=attachment_id)
    inline = attachment.content_type in INLINE_IMAGES
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=not inline,
        filename=attachment.filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
