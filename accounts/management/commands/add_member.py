from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts import services
from accounts.management.commands._json import JsonCommand, get_or_fail
from accounts.models import Account, Membership
from contract.errors import DomainError


class Command(JsonCommand):
    help = (
        "Put a person in an account with a role. Without --password, prints a one-time link "
        "for them to choose one (invite_url)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("account_id")
        parser.add_argument("email")
        parser.add_argument("--role", choices=Membership.Role.values, default="viewer")
        parser.add_argument("--password", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        account = get_or_fail(Account, options["account_id"], "account")
        try:
            added = services.member_add(
                account=account,
                email=options["email"],
                role=options["role"],
                password=options["password"],
            )
        except (DomainError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        membership = added.membership
        self.audit("membership.add", membership, changes={"role": [None, membership.role]})
        self.emit(
            {
                "account_id": account.id,
                "email": membership.user.email,
                "role": membership.role,
                "user_id": membership.user_id,
                "invite_url": added.invite_url,
            }
        )
