from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts import services
from accounts.management.commands._json import JsonCommand


class Command(JsonCommand):
    help = "Create an account with a first API key (shown once) and, optionally, its owner."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--owner-email", default=None)
        parser.add_argument("--inactive", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        account, issued = services.account_create(
            name=options["name"], owner_email=options["owner_email"], active=not options["inactive"]
        )
        self.audit("add", account, changes={"name": [None, account.name]})
        self.emit({"account_id": account.id, "api_key": issued.secret})
