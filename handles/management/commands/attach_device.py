from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from accounts.management.commands._json import JsonCommand
from contract.errors import DomainError
from handles import services
from handles.addresses import handle_normalize
from handles.models import Handle


class Command(JsonCommand):
    help = "Attach a new device to a handle (retiring its previous one); prints its token once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("handle")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            address = handle_normalize(options["handle"])
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        handle = Handle.objects.filter(address=address).first()
        if handle is None:
            raise CommandError(f"No handle {address}: assign it to an account first.")
        with transaction.atomic():
            issued = services.device_attach(handle=handle, name=options["name"])
            self.audit("device.attach", issued.device)
        self.emit({"device_id": issued.device.id, "device_token": issued.token})
