from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from accounts.management.commands._json import JsonCommand
from contract.errors import DomainError
from handles import services
from handles.addresses import handle_normalize
from handles.models import Handle


def handle_named(address: str) -> Handle:
    """The handle of this address (normalized as everywhere), or a command error."""
    try:
        normalized = handle_normalize(address)
    except DomainError as exc:
        raise CommandError(f"{exc.code}: {exc.message}") from exc
    handle = Handle.objects.filter(address=normalized).first()
    if handle is None:
        raise CommandError(f"No handle {normalized!r}.")
    return handle


class Command(JsonCommand):
    help = "Pause a handle: nothing more goes out from it; its messages wait, queued."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("handle")
        parser.add_argument("--reason", default="", help="Kept in the audit log.")

    def handle(self, *args: Any, **options: Any) -> None:
        handle = handle_named(options["handle"])
        services.handle_pause_set(
            handle=handle, paused=True, operator=None, reason=options["reason"]
        )
        self.emit({"handle": handle.address, "paused": True})
