"""What devices tell messaging: the result of a send, receipts, inbound messages, reactions
and group changes made by others.

Each handler is registered with `handles.registry` for its job kind or event type (on
import; `MessagingConfig.ready` imports this module) and runs inside the transaction that
records what the device reported, so a report is applied once or not at all. Send results
and receipts also have batch handlers: a batch of them reads its messages in one query
(locked, with what their events carry) and moves them with one `messages_transition`, so the
work per message is a bounded handful of statements whatever the batch's size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from contract.errors import InvalidRequest
from contract.raw import rows_update
from handles import registry
from handles import services as handle_services
from handles.addresses import handle_normalize, is_email
from handles.clock import DeviceTime, device_time
from handles.models import Channel, Device, Handle, Job
from messaging import events
from messaging.models import Chat, Message, MessageStatusEvent, Reaction
from messaging.services import line_health, new_contacts, stats
from messaging.services.actions import reaction_record
from messaging.services.attachments import attachments_claim
from messaging.services.groups import group_apply
from messaging.services.keywords import keyword_apply
from messaging.services.lifecycle import (
    Transition,
    dispatch_soon,
    message_transition,
    messages_transition,
    observation,
    observe_on_commit,
)
from messaging.services.routing import Route, chat_for


def _at(data: dict[str, Any]) -> DeviceTime:
    """When it happened, by the device's clock held to the window (`handles.clock`)."""
    return device_time(data.get("at"))


def _invalid(name: str, problem: str) -> InvalidRequest:
    return InvalidRequest(f"data.{name} {problem}.", fields={f"data.{name}": [problem + "."]})


def _text(data: dict[str, Any], name: str, *, max_length: int = 200) -> str | None:
    """`data[name]`: a string of at most `max_length` characters, or None when absent."""
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > max_length):
        raise _invalid(name, f"must be a string of at most {max_length:,} characters")
    return value


def _texts(data: dict[str, Any], name: str) -> list[str]:
    """`data[name]`: a list of strings (each at most 200 characters), or [] when absent."""
    values = data.get(name)
    if values is None:
        return []
    if not isinstance(values, list) or not all(
        isinstance(value, str) and len(value) <= 200 for value in values
    ):
        raise _invalid(name, "must be a list of strings")
    return values


def inbound_message_record(
    *,
    handle: Handle,
    upstream_id: str,
    sender: str,
    participants: list[str],
    chat_id: str | None,
    channel: str,
    text: str,
    at: datetime,
    attachments: list[str] | None = None,
    history_note: str = "",
) -> Message | None:
    """Record a message a device received, in its chat (created when new); once per upstream id."""
    if handle.account_id is None:
        return None
    existing = Message.objects.filter(handle=handle, upstream_id=upstream_id).first()
    if existing is not None:
        return existing
    account = handle.account
    assert account is not None
    others = sorted({p for p in participants if p != handle.address} | {sender})
    chat = None
    if chat_id:
        chat = Chat.objects.filter(account=account, handle=handle, pk=chat_id).first()
    if chat is None:
        route = Route(handle=handle, chat=None, recipients=others, is_group=len(others) > 1)
        chat = chat_for(account, route, channel)
    message = Message.objects.create(
        account=account,
        chat=chat,
        handle=handle,
        direction=Message.Direction.INBOUND,
        from_handle=sender,
        to=handle.address,
        channel=channel,
        requested_channel=channel,
        status=Message.Status.RECEIVED,
        text=text,
        upstream_id=upstream_id,
        created_at=at,
    )
    if attachments:
        attachments_claim(account=account, message=message, ids=attachments)
    Chat.objects.filter(pk=chat.pk).update(last_message_at=at)
    MessageStatusEvent.objects.create(
        message=message, status=Message.Status.RECEIVED, at=at, source="device", detail=history_note
    )
    stats.count(message, ["received"], at=at)
    events.message_status_changed(message)
    observe_on_commit([observation(message, message.status, at)])
    line_health.contact_replied(handle_id=handle.pk, address=sender, at=at)
    new_contacts.contacts_heard(handle=handle, sender=sender, others=others, at=at)
    keyword_apply(message=message, chat=chat)  # STOP, START, HELP (docs/compliance.md)
    return message


def recipient_not_on_imessage(*, message: Message) -> None:
    """Remember it, so `auto` goes straight to SMS next time."""
    if isinstance(message.to, str) and not is_email(message.to):
        handle_services.capability_set(
            account_id=message.account_id, address=message.to, imessage=False
        )


@registry.on_job_result("send")
def send_job_finished(job: Job) -> None:
    """A device reported a send: sent, re-queued on SMS after `not_registered`, or failed."""
    send_jobs_finished([job])


@registry.on_job_results("send")
def send_jobs_finished(jobs: list[Job]) -> None:
    """Apply a batch of send results: their messages in one query, one batch transition."""
    messages = {
        message.job_id: message
        for message in Message.objects.select_for_update(of=("self",), no_key=True)
        .select_related("handle")
        .prefetch_related("attachments", "reactions")
        .filter(job__in=[job.pk for job in jobs])
        .order_by("id")
    }
    transitions: list[Transition] = []
    renamed: list[Message] = []
    for job in jobs:
        message = messages.get(job.pk)
        if message is not None:
            transitions += _send_result(job, message, renamed)
    if renamed:
        rows_update(renamed, ["upstream_id"])
    messages_transition(transitions=transitions)
    if any(not (job.result or {}).get("ok") for job in jobs):
        line_health.evaluate_soon(job.handle_id for job in jobs)


def _send_result(job: Job, message: Message, renamed: list[Message]) -> list[Transition]:
    """What one send result does to its message (`renamed` collects new upstream ids)."""
    result = job.result or {}
    if result.get("ok"):
        if result.get("upstream_id") and message.upstream_id != result["upstream_id"]:
            message.upstream_id = result["upstream_id"]
            renamed.append(message)
        # Recorded even when a receipt got here first (then it is history, not a step back).
        return [Transition(message, Message.Status.SENT, "device")]
    if message.status != Message.Status.SENDING:
        return []
    error = result.get("error") or {"code": "failed", "message": "The device could not send it."}
    if error.get("code") == "not_registered" and message.channel == Channel.IMESSAGE:
        recipient_not_on_imessage(message=message)
        if message.fallback:
            message.channel = Channel.SMS
            message.job = None
            message.save(update_fields=["channel", "job"])
            dispatch_soon(message.handle_id)
            # Keeps its place (queued_at): it goes out next, now as SMS.
            return [
                Transition(
                    message,
                    Message.Status.QUEUED,
                    "device",
                    detail="Recipient is not on iMessage (not_registered): falling back to SMS.",
                    force=True,
                )
            ]
    return [
        Transition(
            message,
            Message.Status.FAILED,
            "device",
            detail=f"{error.get('code')}: {error.get('message', '')}",
            error={
                "code": str(error.get("code", "failed")),
                "message": str(error.get("message", "")),
            },
        )
    ]


def _outbound_of(device: Device, data: dict[str, Any]) -> Message | None:
    upstream_id, message_id = _text(data, "upstream_id"), _text(data, "message_id")
    query = Message.objects.select_for_update(no_key=True).filter(
        handle_id=device.handle_id, account_id=device.handle.account_id
    )
    if upstream_id:
        found = query.filter(upstream_id=upstream_id).first()
        if found is not None:
            return found
    if message_id:
        return query.filter(pk=message_id).first()
    return None


RECEIPTS = {
    "message.delivered": Message.Status.DELIVERED,
    "message.read": Message.Status.READ,
}


def receipts_apply(device: Device, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Apply delivery and read receipts in order: their messages read (and locked) in one
    query, moved in one batch transition. A receipt for a message this handle did not send
    (sent from the phone, say) is skipped."""
    wanted = [
        (RECEIPTS[event_type], _text(data, "upstream_id"), _text(data, "message_id"), _at(data))
        for _, event_type, data in events
    ]
    upstream_ids = {upstream_id for _, upstream_id, _, _ in wanted if upstream_id}
    message_ids = {message_id for _, _, message_id, _ in wanted if message_id}
    if not upstream_ids and not message_ids:
        return
    found = list(
        Message.objects.select_for_update(of=("self",), no_key=True)
        .filter(handle_id=device.handle_id, account_id=device.handle.account_id)
        .filter(Q(upstream_id__in=upstream_ids) | Q(pk__in=message_ids))
        .prefetch_related("attachments", "reactions")
        .order_by("id")
    )
    by_upstream_id = {message.upstream_id: message for message in found if message.upstream_id}
    by_id = {message.pk: message for message in found}
    transitions: list[Transition] = []
    implied_sent: set[str] = set()
    for status, upstream_id, message_id, at in wanted:
        message = (by_upstream_id.get(upstream_id) if upstream_id else None) or (
            by_id.get(message_id) if message_id else None
        )
        if message is None or message.direction != Message.Direction.OUTBOUND:
            continue  # a receipt for something we did not send (e.g. sent from the phone)
        if message.status == Message.Status.SENDING and message.pk not in implied_sent:
            # The receipt overtook the device's result: it was sent, at the latest then.
            implied_sent.add(message.pk)
            implied = "; ".join(filter(None, ["implied by receipt", at.note]))
            transitions.append(
                Transition(message, Message.Status.SENT, "device", at=at.at, detail=implied)
            )
        transitions.append(Transition(message, status, "device", at=at.at, detail=at.note))
    messages_transition(transitions=transitions)


def _receipt(event_type: str) -> registry.DeviceEventHandler:
    def apply(device: Device, external_id: str, data: dict[str, Any]) -> None:
        receipts_apply(device, [(external_id, event_type, data)])

    return apply


for _event_type in RECEIPTS:
    registry.on_device_event(_event_type)(_receipt(_event_type))
registry.on_device_events(*RECEIPTS)(receipts_apply)


@registry.on_device_event("message.failed")
def message_failed_after_sending(device: Device, external_id: str, data: dict[str, Any]) -> None:
    message = _outbound_of(device, data)
    if message is None or message.direction != Message.Direction.OUTBOUND:
        return
    error = data.get("error") or {}
    if not isinstance(error, dict):
        raise _invalid("error", "must be an object with code and message")
    at = _at(data)
    message_transition(
        message,
        Message.Status.FAILED,
        source="device",
        at=at.at,
        detail="; ".join(filter(None, ["failed after it was sent", at.note])),
        error={"code": str(error.get("code", "failed")), "message": str(error.get("message", ""))},
    )
    line_health.evaluate_soon([device.handle_id])


@registry.on_device_event("message.received")
def message_received(device: Device, external_id: str, data: dict[str, Any]) -> None:
    sender = handle_normalize(data.get("from"), field="data.from")
    participants = [
        handle_normalize(p, field="data.participants") for p in _texts(data, "participants")
    ]
    channel = data.get("channel") or Channel.IMESSAGE
    if channel not in Channel.values:
        raise _invalid("channel", "must be imessage, sms or whatsapp")
    text = _text(data, "text", max_length=10_000) or ""
    at = _at(data)
    inbound_message_record(
        handle=device.handle,
        upstream_id=_text(data, "upstream_id") or external_id,
        sender=sender,
        participants=participants,
        chat_id=_text(data, "chat_id"),
        channel=channel,
        text=text,
        at=at.at,
        attachments=_texts(data, "attachments"),
        history_note=at.note,
    )


def _reaction(removed: bool) -> registry.DeviceEventHandler:
    def apply(device: Device, external_id: str, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind not in Reaction.Type.values:
            raise InvalidRequest(f"data.type must be one of {', '.join(Reaction.Type.values)}.")
        sender = handle_normalize(data.get("from"), field="data.from")
        target = _any_message_of(device, data)
        if target is not None:
            reaction_record(message=target, from_handle=sender, type=kind, removed=removed)

    return apply


def _any_message_of(device: Device, data: dict[str, Any]) -> Message | None:
    upstream_id, message_id = _text(data, "upstream_id"), _text(data, "message_id")
    query = Message.objects.filter(handle_id=device.handle_id, account_id=device.handle.account_id)
    if upstream_id and (found := query.filter(upstream_id=upstream_id).first()):
        return found
    return query.filter(pk=message_id).first() if message_id else None


registry.on_device_event("reaction.added")(_reaction(removed=False))
registry.on_device_event("reaction.removed")(_reaction(removed=True))


@registry.on_device_event("chat.updated")
def chat_updated(device: Device, external_id: str, data: dict[str, Any]) -> None:
    """A group changed on the device (renamed, people added or removed by someone)."""
    chats = (
        Chat.objects.select_for_update(no_key=True)
        .select_related("handle")
        .filter(
            handle_id=device.handle_id,
            account_id=device.handle.account_id,
            type=Chat.Type.GROUP,
        )
    )
    chat = None
    chat_id, upstream_id = _text(data, "chat_id"), _text(data, "upstream_id")
    name = _text(data, "name")
    added, removed = _texts(data, "added"), _texts(data, "removed")
    if chat_id:
        chat = chats.filter(pk=chat_id).first()
    if chat is None and upstream_id:
        chat = chats.filter(upstream_id=upstream_id).first()
    if chat is None:
        return
    group_apply(
        chat=chat,
        name=name,
        add=tuple(handle_normalize(h, field="data.added") for h in added),
        remove=tuple(handle_normalize(h, field="data.removed") for h in removed),
    )


@registry.on_handle_online
def handle_came_online(handle_id: int) -> None:
    """A handle's device is back: its queue goes out again."""
    dispatch_soon(handle_id)
