"""A lost cache, broker or database is a 503 `unavailable` wherever it is raised, never a 500.

The fault tests (test_faults.py) take the services down for real; these check, quickly, the
paths a view's exception handler does not cover: a page outside the API, and Django's own
500 handler.
"""

from __future__ import annotations

import json

from django.test import override_settings

from accounts.models import Membership
from tests.conftest import signed_in

CLOSED_PORT = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def test_a_dashboard_page_whose_cache_is_down_is_a_503_page_not_a_500(alice):
    owner = signed_in(alice.account, Membership.Role.OWNER, "owner@example.com")
    owner.raise_request_exception = False
    with override_settings(CACHES=CLOSED_PORT):
        response = owner.get(f"/dashboard/{alice.account.pk}/team/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()
    assert response["X-Request-Id"] in response.content.decode()


def test_a_lost_database_outside_a_view_answers_503_in_the_seed_shape(rf):
    from django.db import OperationalError

    from config.error_pages import handler500

    request = rf.get("/v1/messages")
    try:
        raise OperationalError("connection refused")  # what Django is handling when it calls
    except OperationalError:
        response = handler500(request)
    assert response.status_code == 503
    body = json.loads(response.content)
    assert set(body) == {"error", "message", "request_id"}
    assert body["error"] == "unavailable"


def test_any_other_exception_outside_a_view_is_still_a_500_internal_error(rf):
    from config.error_pages import handler500

    request = rf.get("/v1/messages")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = handler500(request)
    assert response.status_code == 500
    assert json.loads(response.content)["error"] == "internal_error"
