from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.db import transaction

from accounts import services
from accounts.management.commands._json import JsonCommand, get_or_fail
from accounts.models import ApiKey


class Command(JsonCommand):
    help = "Revoke an API key at once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = get_or_fail(ApiKey, options["key_id"], "API key")
        with transaction.atomic():
            services.api_key_revoke(api_key=api_key)
            self.audit("api_key.revoke", api_key)
        self.emit({"key_id": api_key.id, "revoked": True})
