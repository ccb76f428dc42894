"""Keywords in inbound messages: STOP and its synonyms opt the sender out of the account,
START and its synonyms opt them back in, HELP is answered (docs/compliance.md, "Opt-outs").

A keyword is the whole text of a direct message, trimmed, in any case ("Stop", " stop ").
It is read once per inbound message (a device sending the same event again records nothing
new, so nothing here runs again), and saying it twice changes nothing the second time: one
opt-out, one event, one confirmation. Replies (the account's `help_reply`, `opt_out_reply`,
`opt_in_reply`; empty sends nothing) go from the handle that received the keyword, into that
chat, on its channel, as ordinary outbound messages: paced, visible in the API. A reply that
cannot be sent (the device lost its WhatsApp session, say) is logged; the opt-out stands.
"""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import Account
from contract.errors import DomainError
from messaging.models import Chat, Message, OptOut
from messaging.services import opt_outs
from messaging.services.sending import message_send

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP"})
logger = logging.getLogger(__name__)


def keyword_of(text: str) -> str | None:
    """ "stop", "start" or "help" when the whole text (trimmed, any case) is one; else None."""
    word = text.strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def keyword_apply(*, message: Message, chat: Chat) -> str | None:
    """Act on a new inbound message if it is a keyword in a direct message; return which."""
    if chat.type != Chat.Type.DM or message.direction != Message.Direction.INBOUND:
        return None
    keyword = keyword_of(message.text)
    if keyword is None:
        return None
    # Read now: the device's handle (and its account) may be remembered from seconds ago,
    # and the replies are the account's settings as they are.
    account = Account.objects.get(pk=message.account_id)
    sender = message.from_handle
    if keyword == "stop":
        change = opt_outs.opt_out_add(
            account=account,
            recipient=sender,
            source=OptOut.Source.KEYWORD,
            reason=message.text.strip(),
            message=message,
            handle=message.handle.address,
        )
        if change.changed:
            # The one message an opted-out recipient may get: it replies to their STOP.
            _reply(account, message, account.opt_out_reply, confirming_opt_out=True)
    elif keyword == "start":
        opted_in = opt_outs.opt_out_remove(
            account=account,
            recipient=sender,
            source=OptOut.Source.KEYWORD,
            message=message,
            handle=message.handle.address,
        )
        if opted_in is not None:
            _reply(account, message, account.opt_in_reply)
    else:
        _reply(account, message, account.help_reply)
    return keyword


def _reply(
    account: Account, message: Message, text: str, *, confirming_opt_out: bool = False
) -> Message | None:
    """Send `text` (if any) into the chat of `message`, from its handle, on its channel."""
    if not text.strip():
        return None
    try:
        with transaction.atomic():
            return message_send(
                account=account,
                chat_id=message.chat_id,
                text=text,
                channel=message.channel,
                reply_to=message.pk,
                opt_out_confirmation=confirming_opt_out,
            )
    except DomainError as exc:
        # An opted-out sender's HELP, or a channel the handle cannot send on right now.
        logger.info("no keyword reply to %s: %s (%s)", message.pk, exc.code, exc.message)
        return None
