from __future__ import annotations

from django.apps import AppConfig


class HandlesConfig(AppConfig):
    name = "handles"
    default_auto_field = "django.db.models.BigAutoField"
