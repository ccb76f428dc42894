"""The ASGI application: the Procfile's `agents` process (gunicorn's asyncio worker).

Django's application, wrapped so that a device's long-poll (`GET /device/v1/jobs?wait=…`) waits
in the event loop after Django has answered it, holding no thread and no database connection
(handles/device/long_poll.py). Every other request is Django's, as under WSGI.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_asgi_application()

from handles.device.long_poll import long_poll_application  # noqa: E402 (needs Django set up)

application = long_poll_application(django_application)
