from __future__ import annotations

from typing import Any

from accounts import services
from accounts.management.commands._json import JsonCommand
from accounts.models import Account

DEMO_NAME = "Demo"


class Command(JsonCommand):
    help = "Make sure the demo account exists and issue it a fresh API key (printed once)."

    def handle(self, *args: Any, **options: Any) -> None:
        account = Account.objects.filter(name=DEMO_NAME).order_by("created_at").first()
        if account is None:
            account, issued = services.account_create(
                name=DEMO_NAME, owner_email="demo@example.com"
            )
        else:
            issued = services.api_key_create(account=account, name="make run")
        self.emit({"account_id": account.id, "api_key": issued.secret})
