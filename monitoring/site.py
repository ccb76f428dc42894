"""The admin site whose index is the overview: what is stuck or failing right now, each card
linking to the changelist that shows it, above the usual list of apps.

The cards come from `monitoring.selectors` (a bounded number of queries, each LIMITed),
never from the template.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from monitoring.overview import overview


class OperationsAdminSite(admin.AdminSite):
    index_template = "admin/monitoring/overview.html"
    # The changelists are wide (the handles list has ten columns): the app list stays on the
    # overview and the breadcrumbs, not in a sidebar beside every list.
    enable_nav_sidebar = False

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        context = {"overview": overview(user=request.user), **(extra_context or {})}
        return super().index(request, extra_context=context)
