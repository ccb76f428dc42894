from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts import services
from accounts.management.commands._json import JsonCommand, get_or_fail
from accounts.models import Account


class Command(JsonCommand):
    help = "Create an API key for an account; the key is printed once and never stored."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("account_id")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        account = get_or_fail(Account, options["account_id"], "account")
        issued = services.api_key_create(account=account, name=options["name"])
        self.audit("api_key.create", issued.api_key)
        self.emit({"key_id": issued.api_key.id, "api_key": issued.secret})
