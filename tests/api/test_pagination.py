"""Page parameters: a crafted limit or cursor is a 400, never a crash; any page of any list
is one index range scan, however deep."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.request import Request

from accounts.models import Account
from accounts.selectors import api_key_list
from contract.pagination import encode_cursor, keyset_page_queryset
from handles.selectors import handle_list
from messaging.selectors import chat_list, message_list
from tests.conftest import assert_error
from webhooks.models import WebhookEndpoint
from webhooks.selectors import delivery_list, endpoint_list


@pytest.mark.parametrize("limit", ["\u00b2", "\u0661\u0660"])
def test_a_non_ascii_digit_limit_is_invalid_not_a_crash(alice, limit):
    assert_error(alice.client.get("/v1/messages", {"limit": limit}), 400, "invalid_request")


def test_a_forged_cursor_with_the_wrong_id_type_is_invalid_not_a_crash(alice):
    forged = base64.urlsafe_b64encode(
        json.dumps({"t": timezone.now().isoformat(), "id": "x"}).encode()
    ).decode()
    body = assert_error(alice.client.get("/v1/handles", {"cursor": forged}), 400, "invalid_request")
    assert "cursor" in body["fields"]


# --- every list is one index range scan at any depth ---------------------------------------


def _lists(account: Account) -> dict[str, QuerySet[Any]]:
    """The queryset behind each keyset-paginated list of the API, for `account`."""
    return {
        "messages": message_list(account=account, filters={}),
        "a chat's messages": message_list(account=account, filters={"chat_id": "chat_x"}),
        "chats": chat_list(account=account),
        "handles": handle_list(account=account),
        "api keys": api_key_list(account=account),
        "webhooks": endpoint_list(account=account),
        "deliveries": delivery_list(endpoint=WebhookEndpoint(pk="wh_x", account=account)),
    }


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.parametrize(
    "name",
    ["messages", "a chat's messages", "chats", "handles", "api keys", "webhooks", "deliveries"],
)
def test_a_page_deep_in_any_list_starts_its_index_scan_at_the_cursor(alice, name):
    queryset = _lists(alice.account)[name]
    pk = 123 if name == "handles" else "x_123"  # an id of the list's own type
    cursor = encode_cursor(timezone.now(), str(pk))
    request = Request(RequestFactory().get("/", {"cursor": cursor}))
    sql, params = keyset_page_queryset(request, queryset).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as db:
        # Empty tables: tell the planner that reading them whole is not an option, so the
        # plan shows what it does with the rows a big account has.
        db.execute("SET LOCAL enable_seqscan = off")
        db.execute("SET LOCAL enable_bitmapscan = off")
        db.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = db.fetchone()[0][0]["Plan"]
    table = queryset.model._meta.db_table
    nodes = list(_plan_nodes(plan))
    scans = [n for n in nodes if n.get("Relation Name") == table]
    assert [n["Node Type"] for n in scans] in (["Index Scan"], ["Index Only Scan"]), scans
    assert "ROW(created_at, id) < ROW(" in scans[0]["Index Cond"].replace("(id)::text", "id")
    assert "Filter" not in scans[0]
    assert not [n for n in nodes if n["Node Type"] == "Sort"]
