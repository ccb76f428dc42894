"""Is a webhook URL a public http(s) endpoint? One answer, at registration and delivery.

Decided on the addresses the resolver returns, never on the host string (the resolver reads
`2130706433`, `0x7f.1` and `0177.0.0.1` as 127.0.0.1). Delivery then connects to the address
it checked (requests-hardened), so a DNS answer that changes in between cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

from webhooks.errors import InvalidUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_urls_allowed() -> bool:
    return bool(settings.SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS)


def is_public_address(address: IPAddress) -> bool:
    """Globally routable and not special: loopback, private, link-local, CGNAT, … are not."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = (
            address.ipv4_mapped
            or address.sixtofour
            or (address.teredo[1] if address.teredo else None)
        )
        if embedded is not None and not is_public_address(embedded):
            return False
        # IPv4-compatible (::a.b.c.d) is deprecated and never public.
        if int(address) >> 32 == 0:
            return False
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    ):
        return False
    return not any(address in network for network in EXTRA_BLOCKED_NET_RANGES)


def _invalid(reason: str) -> InvalidUrl:
    return InvalidUrl(f"url {reason}.", fields={"url": [reason[0].upper() + reason[1:] + "."]})


def check_webhook_url(url: str) -> str:
    """The URL, if it may receive webhooks; 400 `invalid_url` naming why otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid("is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise _invalid("must use http or https")
    if parts.username is not None or parts.password is not None:
        raise _invalid("must not contain credentials")
    host = parts.hostname
    if not host:
        raise _invalid("has no host")
    if private_urls_allowed():
        return url
    try:
        answers = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise _invalid(f"host {host!r} does not resolve") from exc
    for *_, socket_address in answers:
        address = ipaddress.ip_address(str(socket_address[0]).split("%", 1)[0])
        if not is_public_address(address):
            raise _invalid(f"resolves to a non-public address ({address})")
    return url
