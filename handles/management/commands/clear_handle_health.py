from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts.management.commands._json import JsonCommand
from handles import services
from handles.management.commands.pause_handle import handle_named


class Command(JsonCommand):
    help = (
        "Clear a handle's line health: healthy again, its past outcomes stop counting, and the "
        "new-contact sends held for it go out (audited)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("handle")
        parser.add_argument("--reason", default="", help="Kept in the audit log.")

    def handle(self, *args: Any, **options: Any) -> None:
        handle = handle_named(options["handle"])
        previous = handle.health
        services.handle_health_clear(handle=handle, operator=None, reason=options["reason"])
        self.emit({"handle": handle.address, "health": handle.health, "previous": previous})
