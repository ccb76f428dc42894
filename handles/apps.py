from __future__ import annotations

from django.apps import AppConfig


class HandlesConfig(AppConfig):
    name = "handles"
    verbose_name = "Handles and devices"
    default_auto_field = "django.db.models.BigAutoField"
