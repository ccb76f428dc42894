"""The demo `make run` shows: an account, a handle with a simulated device, a fresh key.

It lives in messaging, the app that stands on all the others, because the demo is made of
all of them.
"""

from __future__ import annotations

from typing import Any

from accounts import services
from accounts.management.commands._json import JsonCommand
from accounts.models import Account
from handles import services as handle_services
from handles.selectors import live_device

DEMO_NAME = "Demo"
DEMO_HANDLE = "+14155550100"


class Command(JsonCommand):
    help = (
        "Make sure the demo account and its demo handle (with a simulated device) exist, and "
        "issue the account a fresh API key (printed once)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(name=DEMO_NAME).order_by("created_at").first()
        if account is None:
            account, issued = services.account_create(
                name=DEMO_NAME, owner_email="demo@example.com"
            )
        else:
            issued = services.api_key_create(account=account, name="make run")
        handle = handle_services.handle_assign(account=account, address=DEMO_HANDLE)
        if live_device(handle=handle) is None:
            handle_services.device_attach(handle=handle, name="simulator", simulated=True)
        self.emit({"account_id": account.id, "api_key": issued.secret, "handle": handle.address})
