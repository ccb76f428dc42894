"""Operator commands print exactly one JSON object on stdout, for scripts to read, and leave
an audit row (operator "command-line") for each change they make."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import models

from accounts.services import audit_record


class JsonCommand(BaseCommand):
    def emit(self, payload: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(payload))

    def audit(
        self,
        action: str,
        obj: models.Model,
        *,
        changes: dict[str, list[Any]] | None = None,
        reason: str = "",
        account_id: str | None = None,
    ) -> None:
        """Record this command's change in the audit log, as done from the command line."""
        audit_record(
            operator=None,
            action=action,
            obj=obj,
            changes=changes,
            reason=reason,
            account_id=account_id,
        )


def get_or_fail(model: Any, pk: str, label: str) -> Any:
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist as exc:
        raise CommandError(f"No {label} {pk!r}.") from exc
