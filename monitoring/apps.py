"""The operators' read side: the admin's overview, /metrics. It reads every app, writes none."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class MonitoringConfig(AppConfig):
    default = True
    name = "monitoring"
    verbose_name = "Monitoring"


class OperationsAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the overview of what needs an operator as its index page
    (INSTALLED_APPS names this instead of `django.contrib.admin`)."""

    default = False
    default_site = "monitoring.site.OperationsAdminSite"
