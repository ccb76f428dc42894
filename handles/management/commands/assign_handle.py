from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from accounts.management.commands._json import JsonCommand, get_or_fail
from accounts.models import Account
from contract.errors import DomainError
from handles import services
from handles.addresses import handle_normalize
from handles.models import Handle


def _changes(previous: Handle | None, handle: Handle) -> dict[str, list[Any]]:
    """The handle's settings that changed: {field: [before, after]}."""
    fields = ("account_id", "channels", "per_minute", "burst", "new_contact_budget")
    return {
        field: [getattr(previous, field, None), getattr(handle, field)]
        for field in fields
        if previous is None or getattr(previous, field) != getattr(handle, field)
    }


def _budget(option: str | None) -> int | services.Unchanged | None:
    if option is None:
        return services.UNCHANGED
    if option == "unlimited":
        return None
    try:
        return int(option)
    except ValueError:
        raise CommandError("--new-contact-budget is a number or 'unlimited'.") from None


class Command(JsonCommand):
    help = "Assign a sending handle (E.164 number or iMessage email) to an account."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("account_id")
        parser.add_argument("handle")
        parser.add_argument("--channels", default=None, help="e.g. imessage,sms,whatsapp")
        parser.add_argument("--per-minute", type=int, default=None)
        parser.add_argument("--burst", type=int, default=None)
        parser.add_argument(
            "--new-contact-budget",
            default=None,
            help="People it never messaged it may message per rolling 24 h: a number, or "
            "'unlimited' (docs/compliance.md). Left out: unchanged (a new handle gets 50).",
        )
        parser.add_argument(
            "--move",
            action="store_true",
            help="Move the handle from the account it belongs to (its waiting messages fail).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account = get_or_fail(Account, options["account_id"], "account")
        channels = options["channels"].split(",") if options["channels"] else None
        budget = _budget(options["new_contact_budget"])
        try:
            with transaction.atomic():
                previous = Handle.objects.filter(
                    address=handle_normalize(options["handle"])
                ).first()
                handle = services.handle_assign(
                    account=account,
                    address=options["handle"],
                    channels=channels,
                    per_minute=options["per_minute"],
                    burst=options["burst"],
                    new_contact_budget=budget,
                    move=options["move"],
                )
                before = previous.account_id if previous is not None else None
                moved = before is not None and before != account.pk
                self.audit(
                    "handle.move" if moved else "handle.assign",
                    handle,
                    changes=_changes(previous, handle),
                    account_id=before if moved else None,
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.emit({"handle": handle.address, "account_id": account.id})
