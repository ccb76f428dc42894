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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.dashboard_seed import (
    ABSENT_WORD,
    DB_NAME,
    MAIN_NAME,
    MAIN_OWNER,
    SEARCH_WORD,
    WARMUP,
    configure,
    database_create,
    database_drop,
    database_exists,
    migrate,
    seed,
    seeded,
)


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
