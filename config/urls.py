"""The top: every app's routes under one roof, and the OpenAPI document of them all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import urls as accounts_dashboard
from contract.health import HealthzView, ReadyzView
from contract.schema import OpenApiDocumentView
from messaging.api.urls import device_urlpatterns as messaging_device_urls
from monitoring.views import MetricsView

admin.site.site_header = "Switchboard operations"
admin.site.site_title = "Switchboard operations"
admin.site.index_title = "Operations"


class ApiDocsView(SpectacularRedocView):
    """ReDoc from our own static files (drf-spectacular-sidecar), under its own CSP."""

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    template_name = "api/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        # django-csp: what ReDoc needs on top of the site's policy. It injects its styles at
        # run time and runs its search in a worker made from a blob; scripts stay 'self'.
        response._csp_update = {
            "style-src": ["'unsafe-inline'"],
            "worker-src": ["blob:"],
        }
        return response


v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),
    path("", include("handles.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("webhooks.api.urls")),
    path("openapi.json", OpenApiDocumentView.as_view(), name="openapi"),
    path("docs", ApiDocsView.as_view(url_name="openapi"), name="api-docs"),
]

device_v1: list[URLPattern | URLResolver] = [
    path("", include("handles.device.urls")),
    path("", include(messaging_device_urls)),
]

# The owner dashboard: every page but signing in is one account's, named in its URL.
account_pages: list[URLPattern | URLResolver] = [
    path("", include("messaging.urls")),
    path("", include("handles.urls")),
    path("", include("webhooks.urls")),
    path("", include(accounts_dashboard.account_urlpatterns)),
]
dashboard: list[URLPattern | URLResolver] = [
    path("", include(accounts_dashboard.urlpatterns)),
    path("<account:account_id>/", include(account_pages)),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("dashboard/", include(dashboard)),
    path("device/v1/", include(device_v1)),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "config.error_pages.handler400"
handler403 = "config.error_pages.handler403"
handler404 = "config.error_pages.handler404"
handler500 = "config.error_pages.handler500"
