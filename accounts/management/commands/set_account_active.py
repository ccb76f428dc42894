from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.db import transaction

from accounts import services
from accounts.management.commands._json import JsonCommand, get_or_fail
from accounts.models import Account


class Command(JsonCommand):
    help = "Activate or deactivate an account (an inactive account's keys get 403)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("account_id")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--active", dest="active", action="store_true")
        group.add_argument("--inactive", dest="active", action="store_false")
        parser.add_argument("--reason", default="", help="Kept in the audit log.")

    def handle(self, *args: Any, **options: Any) -> None:
        account = get_or_fail(Account, options["account_id"], "account")
        before = account.is_active
        with transaction.atomic():
            services.account_set_active(account=account, active=options["active"])
            if before != account.is_active:
                self.audit(
                    "account.activate" if account.is_active else "account.suspend",
                    account,
                    changes={"is_active": [before, account.is_active]},
                    reason=options["reason"],
                )
        self.emit({"account_id": account.id, "active": account.is_active})
