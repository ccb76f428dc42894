"""Production: PostgreSQL and Redis are required, cookies and redirects are strict."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASE_URL, REDIS_URL

if not DATABASE_URL or not REDIS_URL:
    raise ImproperlyConfigured("Production needs DATABASE_URL and REDIS_URL.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind the proxy that terminates TLS (docs/operations.md, "TLS"); "none" when there is none.
_PROXY_SSL_HEADER = os.environ.get("SWITCHBOARD_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO")
SECURE_PROXY_SSL_HEADER = (
    (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER not in {"", "none"} else None
)
SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "false").lower() == "true"
