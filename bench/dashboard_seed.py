"""The data bench/dashboard.py measures: a scratch database with an account of a million
messages (and another tenant's), seeded in bulk SQL with the daily rollup to match."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import scratch
from bench.scratch import PG, ROOT

DB_NAME = "switchboard_bench_dashboard"
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
    scratch.database_create(DB_NAME)


def database_drop() -> None:
    from django.db import connections

    connections.close_all()
    scratch.database_drop(DB_NAME)


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
