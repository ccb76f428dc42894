"""The demo `make run` shows: an account, a handle with a simulated device, a fresh key.

It lives in messaging, the app that stands on all the others, because the demo is made of
all of them.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts import services
from accounts.management.commands._json import JsonCommand
from accounts.models import Account, Membership
from handles import services as handle_services
from handles.models import Channel, Handle
from handles.selectors import live_device
from messaging.services.inbound import inbound_message_record
from messaging.services.sending import message_send

DEMO_NAME = "Demo"
DEMO_HANDLE = "+14155550100"
DEMO_OWNER = "demo@example.com"
# Recipients the simulator treats as ordinary people (it fails only …9999, …0000).
CONVERSATIONS = (
    ("+14155550111", ["Hi! Is my order on its way?", "It is: it left the warehouse this morning."]),
    ("+14155550122", ["Can I move my appointment to Friday?", "Done: Friday at 10:00."]),
    ("+14155550133", ["Thanks for the quick answer!"]),
)


class Command(JsonCommand):
    help = (
        "Make sure the demo account, its owner, its handle (with a simulated device) and a few "
        "conversations exist; issue a fresh API key and owner password (printed once)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(name=DEMO_NAME).order_by("created_at").first()
        new = account is None
        if account is None:
            account, issued = services.account_create(name=DEMO_NAME, owner_email=DEMO_OWNER)
        else:
            issued = services.api_key_create(account=account, name="make run")
        password = secrets.token_urlsafe(12)
        services.member_add(
            account=account, email=DEMO_OWNER, role=Membership.Role.OWNER, password=password
        )
        handle = handle_services.handle_assign(account=account, address=DEMO_HANDLE)
        if live_device(handle=handle) is None:
            handle_services.device_attach(handle=handle, name="simulator", simulated=True)
        if new:
            self._conversations(account, handle)
        self.emit(
            {
                "account_id": account.id,
                "api_key": issued.secret,
                "handle": handle.address,
                "owner_email": DEMO_OWNER,
                "owner_password": password,
            }
        )

    def _conversations(self, account: Account, handle: Handle) -> None:
        """People who wrote in, and our answers (queued: the simulator sends them)."""
        now = timezone.now()
        for number, (person, lines) in enumerate(CONVERSATIONS):
            inbound_message_record(
                handle=handle,
                upstream_id=f"demo-{number}",
                sender=person,
                participants=[],
                chat_id=None,
                channel=Channel.IMESSAGE,
                text=lines[0],
                at=now - timedelta(minutes=30 - number),
            )
            for line in lines[1:]:
                message_send(account=account, to=person, text=line)
