from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts.management.commands._json import JsonCommand
from handles import services
from handles.management.commands.pause_handle import handle_named


class Command(JsonCommand):
    help = "Resume a paused handle: its queue drains, oldest first, at the handle's pace."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("handle")
        parser.add_argument("--reason", default="", help="Kept in the audit log.")

    def handle(self, *args: Any, **options: Any) -> None:
        handle = handle_named(options["handle"])
        services.handle_pause_set(
            handle=handle, paused=False, operator=None, reason=options["reason"]
        )
        self.emit({"handle": handle.address, "paused": False})
