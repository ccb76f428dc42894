"""Content negotiation with DRF's rules, worked out once per kind of request.

What DRF's `DefaultContentNegotiation` picks depends only on the `Accept` header, the
`format` asked for and the view's renderers, yet it parses the header and walks the media
types on every request. This remembers its answer for each combination seen (a few: clients
send the same header every time), so a request whose combination is known pays a dict
lookup; anything DRF refuses (406, an unknown format) is refused by DRF itself every time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

# A client controls its header: remember short ones only, and only so many.
_MAX_ACCEPT = 256
_MAX_REMEMBERED = 512
_chosen: dict[tuple[str, str | None, tuple[type[BaseRenderer], ...]], tuple[int, str]] = {}


class RememberedContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, its answer remembered per `Accept`, `format` and renderers."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (accept, format, tuple(type(renderer) for renderer in renderers))
        known = _chosen.get(key)
        if known is not None:
            return renderers[known[0]], known[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(accept) <= _MAX_ACCEPT and len(_chosen) < _MAX_REMEMBERED:
            _chosen[key] = (renderers.index(renderer), media_type)
        return renderer, media_type
