"""`<account:account_id>` in dashboard URLs: an account id, so it never shadows a page name."""

from __future__ import annotations


class AccountIdConverter:
    regex = "acct_[A-Za-z0-9]{1,40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
