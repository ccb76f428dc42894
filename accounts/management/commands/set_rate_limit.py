from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from accounts import services
from accounts.management.commands._json import JsonCommand, get_or_fail
from accounts.models import Account, ApiKey


class Command(JsonCommand):
    help = "Set the API requests per minute of an account, or of one of its keys (--key)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("account_id")
        parser.add_argument("per_minute", type=int)
        parser.add_argument("--key", dest="key_id", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["per_minute"] < 1:
            raise CommandError("PER_MINUTE must be at least 1.")
        account = get_or_fail(Account, options["account_id"], "account")
        key_id = options["key_id"]
        per_minute = options["per_minute"]
        with transaction.atomic():
            if key_id is None:
                before = account.rate_limit_per_minute
                services.account_set_rate_limit(account=account, per_minute=per_minute)
                self.audit(
                    "account.rate_limit",
                    account,
                    changes={"rate_limit_per_minute": [before, per_minute]},
                )
            else:
                api_key = get_or_fail(ApiKey, key_id, "API key")
                if api_key.account_id != account.id:
                    raise CommandError(f"API key {key_id!r} does not belong to {account.id!r}.")
                before = api_key.rate_limit_per_minute
                services.api_key_set_rate_limit(api_key=api_key, per_minute=per_minute)
                self.audit(
                    "api_key.rate_limit",
                    api_key,
                    changes={"rate_limit_per_minute": [before, per_minute]},
                )
        self.emit({"account_id": account.id, "key_id": key_id, "per_minute": options["per_minute"]})
