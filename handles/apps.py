from __future__ import annotations

from django.apps import AppConfig


class HandlesConfig(AppConfig):
    name = "handles"
    verbose_name = "Handles and devices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # lazy: models import only once apps are loaded; importing registers handles' own
        # device event handler (recipient.capability).
        from handles import services  # noqa: F401
