from __future__ import annotations

from django.apps import AppConfig
from django.urls import register_converter

from accounts.converters import AccountIdConverter


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        register_converter(AccountIdConverter, "account")
