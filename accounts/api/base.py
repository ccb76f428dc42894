"""The base of every `/v1/` view of an account's resources.

Authentication by API key, the active-account rule and the per-key budget come from DRF's
defaults in settings (`accounts.auth`, `accounts.ratelimit`); this adds what the contract
promises for writes: POST, PATCH and DELETE run once per Idempotency-Key (see
`accounts.idempotency`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponseBase
from rest_framework.request import Request

from accounts.idempotency import (
    idempotency_key_of,
    idempotency_lock_release_unused,
    run_idempotently,
)
from accounts.models import ApiKey
from contract.views import ApiView


class AccountApiView(ApiView):
    """A view of the authenticated account's resources, with idempotent writes."""

    idempotent_writes = True
    # False for views whose writes wait on a device: see accounts.idempotency.
    idempotent_in_transaction = True
    # Fields of `data` that hold a secret shown once: never stored for a replay.
    idempotency_redacted_fields: tuple[str, ...] = ()
    # True where the writes change nothing outside the database (no file, no call out): the
    # key is then checked when the response is stored, not before (accounts.idempotency).
    idempotency_checked_at_store = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            super().initial(request, *args, **kwargs)
        except Exception:
            # The budget's round trip may have taken the Idempotency-Key's lock for a
            # handler that will not run now.
            idempotency_lock_release_unused(request)
            raise

    def respond_once(
        self, request: Request, respond: Callable[[], HttpResponseBase]
    ) -> HttpResponseBase:
        key = idempotency_key_of(request)
        api_key = request.auth
        if key is None or not isinstance(api_key, ApiKey):
            return respond()
        return run_idempotently(
            request=request,
            account=api_key.account,
            key=key,
            respond=respond,
            in_transaction=self.idempotent_in_transaction,
            redact=self.idempotency_redacted_fields,
            checked_at_store=self.idempotency_checked_at_store,
        )
