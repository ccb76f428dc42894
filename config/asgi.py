"""The ASGI application: the Procfile's `agents` process (gunicorn's asyncio worker).

Django's application, wrapped so that a device's long-poll (`GET /device/v1/jobs?wait=…`) waits
in the event loop after Django has answered it, holding no thread and no database connection
(handles/device/long_poll.py). Every other request is Django's, as under WSGI; at most
DB_POOL_MAX requests run inside Django at once, the others wait their turn in the event loop.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402 (after the settings module is chosen)

from handles.device.long_poll import long_poll_application  # noqa: E402 (needs Django set up)

# As many requests inside Django at once as each may hold a pooled connection.
_pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool") or {}
application = long_poll_application(django_application, concurrency=int(_pool.get("max_size", 4)))
