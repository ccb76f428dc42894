"""Standard Webhooks signatures (https://www.standardwebhooks.com): any of its libraries
verifies what Switchboard sends.

    webhook-id:        the event id (the same on every attempt and redelivery)
    webhook-timestamp: seconds since the epoch
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"> (space-separated
                       when two secrets are valid during a rotation)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(*, secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret=s, message_id=message_id, timestamp=timestamp, body=body) for s in secrets_
        ),
    }
