"""A response that carries a secret shown once is never stored, by a browser or a proxy.

The views that return one (a new API key, a webhook's signing secret on create and on
rotation, a device token on attach, the dashboard page that reveals a new secret) pass their
response through `no_store`; tests hold each of them to it.
"""

from __future__ import annotations

from typing import TypeVar

from django.http import HttpResponseBase

R = TypeVar("R", bound=HttpResponseBase)


def no_store(response: R) -> R:
    """Mark `response` as not to be stored anywhere: `Cache-Control: no-store`."""
    response["Cache-Control"] = "no-store"
    return response
