"""The client's address: one answer for every reader (rate limits, failed-auth counters, axes).

Without a proxy it is the socket's address (`REMOTE_ADDR`). Behind one, operators name the
`request.META` key their proxy writes the address to (`SWITCHBOARD_CLIENT_IP_HEADER`, e.g.
`HTTP_X_REAL_IP` or `HTTP_X_FORWARDED_FOR`) and how many proxies append to it
(`SWITCHBOARD_TRUSTED_PROXIES`, default 1). A list is read from the right: each trusted
proxy appends the address it saw, so the client is the N-th entry from the right and
everything left of it is whatever the client chose to send. A header that is missing,
empty, too short for the trust setting, or not an address there never fails the request:
the socket's address is used instead, and the misconfiguration is logged once per process.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger("switchboard.client_ip")

# Reasons already logged by this process: a broken proxy must not log on every request.
_logged: set[str] = set()

# What stands for "no address" when even the socket has none (a unix socket, no header).
UNKNOWN = "0.0.0.0"  # noqa: S104 - a placeholder, never bound to


def parse_address(text: str) -> str | None:
    """The canonical IP address in `text` (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`), or None."""
    candidate = text.strip()
    if candidate.startswith("[") and "]" in candidate:
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:
        candidate = candidate.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def _socket_address(request: Any) -> str:
    return parse_address(str(request.META.get("REMOTE_ADDR") or "")) or UNKNOWN


def _fall_back(request: Any, header: str, reason: str) -> str:
    if reason not in _logged:
        _logged.add(reason)
        logger.warning(
            "SWITCHBOARD_CLIENT_IP_HEADER=%s: %s; using the socket address instead. Check "
            "that the proxy sets it and SWITCHBOARD_TRUSTED_PROXIES (logged once per process).",
            header,
            reason,
        )
    return _socket_address(request)


def client_ip(request: Any) -> str:
    """The address of the client of `request` (a Django or DRF request): always an IP."""
    header = getattr(settings, "SWITCHBOARD_CLIENT_IP_HEADER", None)
    if not header:
        return _socket_address(request)
    trusted = max(1, int(getattr(settings, "SWITCHBOARD_TRUSTED_PROXIES", 1)))
    value = request.META.get(header)
    if not isinstance(value, str) or not value.strip():
        return _fall_back(request, header, "the header is missing or empty")
    entries = [entry for entry in (part.strip() for part in value.split(",")) if entry]
    if len(entries) < trusted:
        return _fall_back(
            request, header, f"the header has fewer than {trusted} addresses (trusted proxies)"
        )
    address = parse_address(entries[-trusted])
    if address is None:
        return _fall_back(request, header, "the trusted entry of the header is not an IP address")
    return address
