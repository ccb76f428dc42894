"""The metrics token: `Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>`, nothing else.

Not an API key and not a session: Prometheus holds this one secret. Failed attempts count
against the client address like any other secret token (contract.auth).
"""

from __future__ import annotations

import hmac

from django.conf import settings

from contract.auth import SecretTokenAuthentication


class MetricsTokenAuthentication(SecretTokenAuthentication):
    scheme = "Bearer"
    realm = "metrics"
    missing_message = "Missing metrics token: send Authorization: Bearer <token>."
    invalid_message = "Invalid metrics token."
    # 404 too: /metrics is not found while the setting is unset (monitoring.views).
    openapi_error_statuses = (401, 404, 429)  # type: ignore[assignment]
    openapi_scheme_name = "MetricsToken"
    openapi_security_definition = {
        "type": "http",
        "scheme": "bearer",
        "description": "The deployment's SWITCHBOARD_METRICS_TOKEN (operators only).",
    }

    def find(self, secret: str) -> bool | None:
        token = settings.SWITCHBOARD_METRICS_TOKEN
        if token and hmac.compare_digest(secret.encode(), token.encode()):
            return True
        return None
