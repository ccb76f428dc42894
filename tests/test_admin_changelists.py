"""Every admin changelist costs a fixed number of queries whatever its rows, and none counts a
big table in full (accounts.operator_admin)."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import operator_admin
from accounts.models import Account, ApiKey, AuditEntry, IdempotencyRecord
from handles.models import Device, DeviceEvent, Handle, HandleStatusChange, Job
from messaging.models import Chat, Message, MessageStatusEvent
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.slow(seconds=40)

ROWS = 200
# Session, user, the bounded count, the page, and one a filter that lists choices; measured
# 4-8 (axes' own lists are the 8).
MAX_QUERIES = 10


def seed(rows: int) -> None:
    """`rows` rows in every table an operator lists, written in bulk."""
    now = timezone.now()
    accounts = Account.objects.bulk_create(Account(name=f"Tenant {n}") for n in range(rows))
    owner = accounts[0]
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"person{n}", email=f"p{n}@example.com") for n in range(rows)
    )
    ApiKey.objects.bulk_create(
        ApiKey(account=account, prefix=f"sk_{n}", secret_hash=f"{n:064d}")
        for n, account in enumerate(accounts)
    )
    IdempotencyRecord.objects.bulk_create(
        IdempotencyRecord(
            account=owner,
            key=f"k{n}",
            fingerprint="f",
            method="POST",
            path="/v1/messages",
            status_code=202,
            content_type="application/json",
            body=b"{}",
            request_id=f"req_{n}",
        )
        for n in range(rows)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            operator_name=f"op{n % 7}",
            action="change",
            object_type="accounts.account",
            object_id=account.pk,
            object_repr=str(account),
            account=account,
        )
        for n, account in enumerate(accounts)
    )
    handles = Handle.objects.bulk_create(
        Handle(account=accounts[n], address=f"+1415555{1000 + n}") for n in range(rows)
    )
    Device.objects.bulk_create(
        Device(handle=handle, token_hash=f"d{n:063d}", token_prefix="sbd_", last_seen_at=now)
        for n, handle in enumerate(handles)
    )
    HandleStatusChange.objects.bulk_create(
        HandleStatusChange(handle=handle, status="online") for handle in handles
    )
    jobs = Job.objects.bulk_create(Job(handle=handle, kind="send") for handle in handles)
    DeviceEvent.objects.bulk_create(
        DeviceEvent(handle=handle, external_id=f"e{n}", type="message.delivered", data={})
        for n, handle in enumerate(handles)
    )
    chats = Chat.objects.bulk_create(
        Chat(
            account=handle.account,
            handle=handle,
            type="dm",
            participants=["+14155550199"],
            participants_key="+14155550199",
            channel="imessage",
        )
        for handle in handles
    )
    messages = Message.objects.bulk_create(
        Message(
            account=chat.account,
            chat=chat,
            handle=chat.handle,
            direction="outbound",
            from_handle=chat.handle.address,
            to="+14155550199",
            channel="imessage",
            status="queued" if n % 2 else "sending",
            queued_at=now,
            job=jobs[n],
        )
        for n, chat in enumerate(chats)
    )
    MessageStatusEvent.objects.bulk_create(
        MessageStatusEvent(message=message, status="queued", source="api") for message in messages
    )
    events = Event.objects.bulk_create(
        Event(account=owner, type="message.sent", data={}) for _ in range(rows)
    )
    endpoints = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(account=account, url="https://example.com/hook", events=["*"], secret="s")
        for account in accounts
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event)
        for endpoint, event in zip(endpoints, events, strict=True)
    )


def changelists() -> list[str]:
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    )


@pytest.mark.parametrize("changelist", changelists())
def test_a_changelist_of_200_rows_costs_a_fixed_number_of_queries(
    operator, changelist, django_assert_max_num_queries
):
    seed(ROWS)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = operator.get(changelist)
    assert response.status_code == 200


def test_the_project_changelists_are_all_counted_above():
    """The parametrization sees every list an operator has (an empty one would pass)."""
    assert {"/admin/handles/handle/", "/admin/accounts/auditentry/"} <= set(changelists())
    assert len(changelists()) >= 14


def test_an_unfiltered_list_of_a_big_table_is_sized_from_the_planners_estimate(
    operator, monkeypatch
):
    monkeypatch.setattr(operator_admin, "EXACT_COUNT_UP_TO", 50)
    seed(ROWS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE handles_job")
    with CaptureQueriesContext(connection) as queries:
        response = operator.get("/admin/handles/job/")
    html = response.content.decode()
    assert re.search(r"\b200 jobs\b", html), "the estimate (200 rows) is what the page shows"
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts
    assert all("LIMIT 51" in sql for sql in counts), counts


def test_a_filtered_list_counts_at_most_the_cap(operator, monkeypatch):
    monkeypatch.setattr(operator_admin, "EXACT_COUNT_UP_TO", 50)
    seed(ROWS)
    html = operator.get("/admin/messaging/message/?status__exact=queued").content.decode()
    assert re.search(r"\b50 messages\b", html)


@pytest.mark.parametrize(
    "changelist", [url for url in changelists() if not url.startswith("/admin/axes/")]
)
def test_no_changelist_reads_a_whole_table_for_its_filters(operator, changelist):
    """Django's filter on a plain column lists its choices with a DISTINCT over every row;
    ours read a bounded sample (accounts.operator_admin.values_filter). axes' own lists are
    its business: their tables hold a row per address that failed to sign in, and expire."""
    seed(ROWS)
    with CaptureQueriesContext(connection) as queries:
        assert operator.get(changelist).status_code == 200
    unbounded = [
        q["sql"]
        for q in queries.captured_queries
        if "DISTINCT" in q["sql"] and "LIMIT" not in q["sql"]
    ]
    assert unbounded == []
