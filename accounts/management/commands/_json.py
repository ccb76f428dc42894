"""Operator commands print exactly one JSON object on stdout, for scripts to read."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class JsonCommand(BaseCommand):
    def emit(self, payload: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(payload))


def get_or_fail(model: Any, pk: str, label: str) -> Any:
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist as exc:
        raise CommandError(f"No {label} {pk!r}.") from exc
