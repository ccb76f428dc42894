"""Benchmark the owner dashboard's overview and message log on a big table, in-process.

Seeds a scratch PostgreSQL database (never the default one) with one account of three
handles, `--messages` messages over the last 30 days in `--chats` conversations and the
matching daily rollup (`DailyCount`), next to a second account of `--other` messages, then
loads each page with Django's test `Client` as the account's owner and prints p50/p95 of
`--loads` loads and the number of SQL queries of each. Seeding is bulk SQL
(`INSERT … SELECT generate_series(…)`), so a million messages take minutes.

    make bench-dashboard        # or: .venv/bin/python bench/dashboard.py --messages 1000000
    .venv/bin/python bench/dashboard.py --messages 1000000 --keep   # keep the data for re-runs
"""

from __future__ import annotations

import argparse
import html
import math
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "switchboard_bench_dashboard"
PG = "postgres://postgres@127.0.0.1:5432"
MAIN_NAME, OTHER_NAME = "Bench dashboard", "Bench other tenant"
MAIN_OWNER, OTHER_OWNER = "owner@bench-dashboard.example", "owner@bench-other.example"
MAIN_HANDLES = ["+14155550101", "+14155550102", "+14155550103"]
OTHER_HANDLES = ["+14155550201"]
DAYS = 30
CHUNKS = 20
QUEUED = 25  # the main account's newest messages, still waiting to go out
# In about 0.1 % of the messages (one in a thousand, spread evenly over the 30 days).
SEARCH_WORD = "zephyr"
# In none: the search that reads every row of the account before it can answer.
ABSENT_WORD = "quokka"
WARMUP = 3

OUTBOUND_TEXTS = [
    "Hi! Your appointment is confirmed for tomorrow at 10:30. Reply C to cancel.",
    "Your order has shipped and should arrive within 2 business days.",
    "Thanks for your payment. Your receipt is in your account.",
    "Reminder: your table for 4 is booked tonight at 7pm.",
    "Your verification code is below. It expires in 10 minutes.",
    "We miss you! Come back this week for 15% off your next visit.",
    "Your package is out for delivery today.",
    "The technician is on the way and should arrive within the hour.",
    "Your prescription is ready for pickup at the pharmacy counter.",
    "Can you confirm the address for Saturday's delivery?",
    "Happy birthday from all of us! A little gift is waiting in the app.",
    "Your subscription renews next week. Reply STOP to opt out.",
]
INBOUND_TEXTS = [
    "Yes, confirmed. Thank you!",
    "Can we move it to Thursday afternoon?",
    "Where is my order? It said it would be here yesterday.",
    "Thanks!",
    "STOP",
    "What time do you open on Sunday?",
    "Got it, see you then",
    "Is there parking nearby?",
]
ERRORS = [
    ("not_registered", "Recipient is not on iMessage."),
    ("undeliverable", "Recipient rejected it."),
    ("expired", "Not sent within its time to live."),
    ("failed", "The device could not send it."),
]


def _random_id(prefix: str, seed: str) -> str:
    """SQL for `<prefix>_` and 24 base62 characters, derived from the SQL text `seed`."""
    digest = f"encode(sha256(convert_to({seed}, 'UTF8')), 'base64')"
    return f"'{prefix}_' || left(translate({digest}, '+/', 'Ab'), 24)"


CHAT_ID = _random_id("chat", "'c' || %(tag)s || '-' || c")
PEER = "'+1628' || (%(exchange)s * 1000000 + c)::text"
HANDLE_PICK = "(%(handles)s::bigint[])[1 + c %% %(handle_count)s]"
ADDRESS_PICK = "(%(addresses)s::text[])[1 + c %% %(handle_count)s]"

INSERT_CHATS = f"""
INSERT INTO messaging_chat (id, account_id, handle_id, type, participants, participants_key,
                            name, channel, upstream_id, created_at, last_message_at)
SELECT {CHAT_ID}, %(account)s, {HANDLE_PICK}, 'dm', jsonb_build_array({PEER}), {PEER}, '',
       CASE WHEN c %% 10 < 7 THEN 'imessage' ELSE 'sms' END, '', %(start)s, NULL
FROM generate_series(1, %(chats)s) AS c
"""

# One md5 a message gives its chat (skewed: a few busy conversations, a long tail), its
# status, its text and its moment within its slot of the 30 days; ids come from sha256.
INSERT_MESSAGES = f"""
WITH seeds AS (
    SELECT i, md5(%(tag)s || '-' || i) AS t FROM generate_series(%(lo)s, %(hi)s) AS i
), drawn AS (
    SELECT i, t,
           1 + floor(%(chats)s * power(('x' || substr(t, 1, 7))::bit(28)::int / 268435456.0, 2)
           )::int AS c,
           ('x' || substr(t, 8, 7))::bit(28)::int %% 1000 AS s,
           ('x' || substr(t, 15, 7))::bit(28)::int AS h,
           %(start)s::timestamptz
             + ((i - 1) + ('x' || substr(t, 22, 4))::bit(16)::int / 65536.0) * %(step)s::interval
             AS at
    FROM seeds
), m AS (
    SELECT drawn.*,
           {HANDLE_PICK} AS handle_id,
           {ADDRESS_PICK} AS address,
           {PEER} AS peer,
           CASE WHEN c %% 10 < 7 THEN 'imessage' ELSE 'sms' END AS channel,
           CASE WHEN i > %(total)s - %(queued)s THEN 'queued'
                WHEN s < 150 THEN 'received'
                WHEN s < 170 THEN 'failed'
                WHEN s < 190 THEN 'sent'
                WHEN s < 590 THEN 'delivered'
                ELSE 'read' END AS status
    FROM drawn
)
INSERT INTO messaging_message (
    id, account_id, chat_id, handle_id, direction, from_handle, "to", channel,
    requested_channel, fallback, status, text, effect, reply_to_id, metadata, error_code,
    error_message, attempts, upstream_id, job_id, created_at, send_at, queued_at, sent_at,
    delivered_at, read_at, failed_at, edited_at, unsent_at)
SELECT
    {_random_id("msg", "'m' || %(tag)s || '-' || i")},
    %(account)s, {CHAT_ID}, handle_id,
    CASE WHEN status = 'received' THEN 'inbound' ELSE 'outbound' END,
    CASE WHEN status = 'received' THEN peer ELSE address END,
    to_jsonb(CASE WHEN status = 'received' THEN address ELSE peer END),
    channel,
    CASE WHEN status = 'received' THEN channel ELSE 'auto' END,
    false, status,
    CASE WHEN (h >> 4) %% 1000 = 7 THEN 'Zephyr members: early access starts Friday. '
         ELSE '' END
      || CASE WHEN status = 'received' THEN (%(inbound_texts)s::text[])[1 + h %% %(inbound_n)s]
              ELSE (%(outbound_texts)s::text[])[1 + h %% %(outbound_n)s]
                   || ' Ref ' || upper(substr(t, 26, 7)) END,
    '', NULL, '{{}}'::jsonb,
    CASE WHEN status = 'failed' THEN (%(error_codes)s::text[])[1 + h %% 4] ELSE '' END,
    CASE WHEN status = 'failed' THEN (%(error_messages)s::text[])[1 + h %% 4] ELSE '' END,
    1,
    CASE WHEN status IN ('queued', 'failed') THEN NULL ELSE upper(t::uuid::text) END,
    NULL, at, NULL,
    CASE WHEN status = 'received' THEN NULL ELSE at END,
    CASE WHEN status IN ('sent', 'delivered', 'read') THEN at + interval '2 seconds' END,
    CASE WHEN status IN ('delivered', 'read')
         THEN least(at + interval '4 seconds', %(now)s::timestamptz) END,
    CASE WHEN status = 'read'
         THEN least(at + (h %% 7200) * interval '1 second', %(now)s::timestamptz) END,
    CASE WHEN status = 'failed' THEN at + interval '30 seconds' END,
    NULL, NULL
FROM m
"""

CHAT_ACTIVITY = """
UPDATE messaging_chat AS chat SET created_at = seen.first, last_message_at = seen.last
FROM (SELECT chat_id, min(created_at) AS first, max(created_at) AS last
      FROM messaging_message GROUP BY chat_id) AS seen
WHERE chat.id = seen.chat_id
"""

# What messaging.services.stats would have counted: each outcome on its own day (UTC).
DAILY_COUNTS = """
INSERT INTO messaging_dailycount (account_id, handle_id, day, sent, delivered, read, failed,
                                  received)
SELECT account_id, handle_id, day, sum(sent), sum(delivered), sum(read), sum(failed),
       sum(received)
FROM (
    SELECT account_id, handle_id, (sent_at AT TIME ZONE 'UTC')::date AS day,
           1 AS sent, 0 AS delivered, 0 AS read, 0 AS failed, 0 AS received
    FROM messaging_message WHERE sent_at IS NOT NULL
    UNION ALL
    SELECT account_id, handle_id, (delivered_at AT TIME ZONE 'UTC')::date, 0, 1, 0, 0, 0
    FROM messaging_message WHERE delivered_at IS NOT NULL
    UNION ALL
    SELECT account_id, handle_id, (read_at AT TIME ZONE 'UTC')::date, 0, 0, 1, 0, 0
    FROM messaging_message WHERE read_at IS NOT NULL
    UNION ALL
    SELECT account_id, handle_id, (failed_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 1, 0
    FROM messaging_message WHERE failed_at IS NOT NULL
    UNION ALL
    SELECT account_id, handle_id, (created_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 1
    FROM messaging_message WHERE status = 'received'
) AS outcomes
GROUP BY account_id, handle_id, day
"""


def configure() -> None:
    """Point Django at the scratch database (bench settings: production + bench URLs)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    os.environ["SECRET_KEY"] = "bench-only"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_exists() -> bool:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
        return found.fetchone() is not None


def database_create() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def database_drop() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seeded(messages: int, other: int) -> bool:
    """Whether the database already holds both accounts with these numbers of messages."""
    from accounts.models import Account
    from messaging.models import DailyCount, Message

    counts = {}
    for name in (MAIN_NAME, OTHER_NAME):
        account = Account.objects.filter(name=name).first()
        if account is None:
            return False
        counts[name] = Message.objects.filter(account=account).count()
    return (
        counts == {MAIN_NAME: messages, OTHER_NAME: other}
        and DailyCount.objects.filter(account__name=MAIN_NAME).exists()
    )


def _run(cursor: Any, label: str, started: float, sql: str, params: Any = None) -> None:
    cursor.execute(sql, params)
    print(f"  {label:<40} {time.perf_counter() - started:7.1f} s", flush=True)


def seed(*, messages: int, other: int, chats: int) -> float:
    """Both accounts through the services, their chats and messages in bulk SQL; seconds."""
    from django.db import connection

    from accounts.services import account_create
    from handles.services import handle_assign

    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    tenants: list[dict[str, Any]] = []
    for name, owner, addresses, total, n_chats, exchange, queued in (
        (MAIN_NAME, MAIN_OWNER, MAIN_HANDLES, messages, chats, 2, QUEUED),
        (OTHER_NAME, OTHER_OWNER, OTHER_HANDLES, other, max(1, chats // 10), 3, 0),
    ):
        account, _ = account_create(name=name, owner_email=owner)
        handles = [handle_assign(account=account, address=a) for a in addresses]
        tenants.append(
            {
                "account": account.pk,
                "tag": account.pk,
                "handles": [h.pk for h in handles],
                "addresses": [h.address for h in handles],
                "handle_count": len(handles),
                "chats": n_chats,
                "exchange": exchange,
                "total": total,
                "queued": queued,
                "start": start,
                "now": now,
                "step": timedelta(days=DAYS) / max(total, 1),
                "outbound_texts": OUTBOUND_TEXTS,
                "outbound_n": len(OUTBOUND_TEXTS),
                "inbound_texts": INBOUND_TEXTS,
                "inbound_n": len(INBOUND_TEXTS),
                "error_codes": [code for code, _ in ERRORS],
                "error_messages": [text for _, text in ERRORS],
            }
        )
    print(f"seeding {messages:,} + {other:,} messages, {chats:,} chats", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for tenant in tenants:
            _run(cursor, f"chats of {tenant['account']}", started, INSERT_CHATS, tenant)
        # Both tenants a slice of the 30 days at a time, oldest first, as they would arrive:
        # the table's physical order follows time and mixes the two accounts.
        for chunk in range(CHUNKS):
            for tenant in tenants:
                total = tenant["total"]
                lo, hi = total * chunk // CHUNKS + 1, total * (chunk + 1) // CHUNKS
                if hi >= lo:
                    cursor.execute(INSERT_MESSAGES, {**tenant, "lo": lo, "hi": hi})
            done = messages * (chunk + 1) // CHUNKS
            print(
                f"  messages {done:>10,} / {messages:,}{'':<20} "
                f"{time.perf_counter() - started:7.1f} s",
                flush=True,
            )
        _run(cursor, "chats' first and last message", started, CHAT_ACTIVITY)
        _run(cursor, "daily counts (the rollup)", started, DAILY_COUNTS)
        for table in ("messaging_message", "messaging_chat", "messaging_dailycount"):
            _run(cursor, f"VACUUM ANALYZE {table}", started, f"VACUUM ANALYZE {table}")
        cursor.execute("RESET work_mem")
        cursor.execute("RESET maintenance_work_mem")
    return time.perf_counter() - started


def _older_link(content: str) -> str | None:
    """The query string of the page's "Older messages" link, if it has one."""
    found = re.search(r'<nav class="pager"[^>]*><a href="\?([^"]+)"', content)
    return html.unescape(found.group(1)) if found else None


def measure(client: Any, url: str, loads: int) -> dict[str, Any]:
    """p50/p95 of `loads` loads of `url` (after warming up) and the queries of one load."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        get(client, url)
    timings = []
    for _ in range(loads):
        began = time.perf_counter()
        get(client, url)
        timings.append((time.perf_counter() - began) * 1000)
    with CaptureQueriesContext(connection) as captured:
        get(client, url)
    ordered = sorted(timings)
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[math.ceil(0.95 * len(ordered)) - 1],
        "queries": len(captured.captured_queries),
        "slowest_ms": float(slowest["time"]) * 1000,
        "slowest_sql": slowest["sql"],
    }


def get(client: Any, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    return str(response.content.decode())


def pages(client: Any, account_id: str) -> dict[str, str]:
    """The URLs measured: the 50th page of the log found by following its links, and a page
    half the account deep by the cursor its link would carry (nobody clicks that far, but an
    API client walking GET /v1/messages does)."""
    from contract.pagination import encode_cursor
    from messaging.models import Message

    base = f"/dashboard/{account_id}/messages/"
    url = base
    for _ in range(49):
        query = _older_link(get(client, url))
        if query is None:
            raise SystemExit(f"the message log has fewer than 50 pages ({url})")
        url = f"{base}?{query}"
    search = f"{base}?q={SEARCH_WORD}"
    if "No messages match." in get(client, search):
        raise SystemExit(f"searching {SEARCH_WORD!r} found nothing")
    newest_first = Message.objects.filter(account_id=account_id).order_by("-created_at", "-id")
    depth = newest_first.count() // 2
    moment, pk = newest_first.values_list("created_at", "id")[depth - 1]
    return {
        "overview": f"/dashboard/{account_id}/",
        "messages, first page": base,
        "messages, status=failed": f"{base}?status=failed",
        "messages, 50th page": url,
        f"messages, {depth:,} rows deep": f"{base}?cursor={encode_cursor(moment, pk)}",
        f"messages, q={SEARCH_WORD}": search,
        f"messages, q={ABSENT_WORD} (none)": f"{base}?q={ABSENT_WORD}",
    }


def describe() -> None:
    from django.db import connection

    from accounts.models import Account
    from messaging.models import Chat, DailyCount, Message

    main = Account.objects.get(name=MAIN_NAME)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers')"
        )
        version, buffers = cursor.fetchone()
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('messaging_message'))")
        (size,) = cursor.fetchone()
    words = Message.objects.filter(account=main, text__icontains=SEARCH_WORD).count()
    print(
        f"PostgreSQL {version} (shared_buffers {buffers}), {os.cpu_count()} cores; "
        f"messaging_message {Message.objects.count():,} rows, {size} with indexes"
    )
    print(
        f"{MAIN_NAME}: {Message.objects.filter(account=main).count():,} messages, "
        f"{Chat.objects.filter(account=main).count():,} chats, "
        f"{DailyCount.objects.filter(account=main).count():,} daily counts, "
        f"{Message.objects.filter(account=main, status='failed').count():,} failed, "
        f"{words:,} with {SEARCH_WORD!r}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="of the measured account")
    parser.add_argument("--other", type=int, default=100_000, help="of the second account")
    parser.add_argument("--chats", type=int, default=20_000, help="of the measured account")
    parser.add_argument("--loads", type=int, default=30, help="timed loads of each page")
    parser.add_argument("--keep", action="store_true", help="keep the database for re-runs")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE slow queries")
    args = parser.parse_args()
    if args.messages < 50 * 50 + 1:
        parser.error("--messages must be over 2,500 (the log is measured 50 pages deep)")

    reuse = args.keep and database_exists()
    if not reuse:
        database_create()
    configure()
    try:
        migrate()
        if reuse and seeded(args.messages, args.other):
            print(f"reusing {DB_NAME} (already seeded)")
        else:
            if reuse:
                database_drop()
                database_create()
                migrate()
            took = seed(messages=args.messages, other=args.other, chats=args.chats)
            print(f"seeded in {took:.0f} s ({took / 60:.1f} min)")
        describe()
        from django.contrib.auth.models import User
        from django.test import Client

        from accounts.models import Account

        client = Client()
        client.force_login(User.objects.get(email=MAIN_OWNER))
        urls = pages(client, Account.objects.get(name=MAIN_NAME).pk)
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(
            f"\n{args.loads} loads each after {WARMUP} to warm up, in-process (test Client); "
            f"load average {load}\n"
        )
        print(f"| {'page':<30} | {'p50 ms':>7} | {'p95 ms':>7} | queries | slowest query ms |")
        print(f"|{'-' * 32}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 18}|")
        results = {}
        for name, url in urls.items():
            result = results[name] = measure(client, url, args.loads)
            print(
                f"| {name:<30} | {result['p50']:7.1f} | {result['p95']:7.1f} | "
                f"{result['queries']:7d} | {result['slowest_ms']:16.1f} |",
                flush=True,
            )
        if args.explain:
            explain(results)
    finally:
        if not args.keep:
            database_drop()


def explain(results: dict[str, dict[str, Any]]) -> None:
    """EXPLAIN ANALYZE of the slowest query of each page slower than 200 ms at p50."""
    from django.db import connection

    for name, result in results.items():
        if result["p50"] <= 200:
            continue
        print(f"\n{name}: slowest query ({result['slowest_ms']:.1f} ms)\n{result['slowest_sql']}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {result['slowest_sql']}")
            print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
