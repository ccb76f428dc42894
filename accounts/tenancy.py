"""Objects of the caller's account: another account's object is a 404, never a 403."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

from accounts.models import Account
from contract.errors import NotFound

M = TypeVar("M", bound=Model)


def get_owned(queryset: QuerySet[M], *, account: Account, pk: str) -> M:
    """The object `pk` of `account`; `not_found` whether it is missing or someone else's."""
    found = queryset.filter(account=account, pk=pk).first()
    if found is None:
        raise NotFound()
    return found
