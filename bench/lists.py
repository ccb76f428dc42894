"""Lists at any depth: GET /v1/messages at 1M rows against the first page at 10k.

Seeds a scratch PostgreSQL database (never the default one) the way bench/dashboard.py does
(bench/dashboard_seed.py: bulk SQL): one account of `--messages` messages next to one of
`--small`. Then, through the API (Django's test `Client`, in-process, the account's own API
key), times GET /v1/messages: the small account's first page (the yardstick), and the big
account's first page, 1,000 and 5,000 pages deep and its last page, each by the `cursor` its
previous page would have carried. Prints p50/p95 of `--loads` loads each and the ratio to the
yardstick (acceptance: every one within 1.5 times), then `EXPLAIN (ANALYZE, BUFFERS)` of the list
query 5,000 pages deep, which must be one index range scan. Also EXPLAINs the other keyset
lists of the big account (a chat's messages, chats) at depth.

    .venv/bin/python bench/lists.py                 # seed (a few minutes), measure, drop
    .venv/bin/python bench/lists.py --keep          # keep the data: re-runs skip the seed
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import dashboard_seed

PAGE = 50  # the API's default limit
WARMUP = 5


def configure(db_name: str) -> None:
    """The scratch database (and Redis database) for this run; bench settings."""
    dashboard_seed.DB_NAME = db_name
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = f"{dashboard_seed.PG}/{db_name}"
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ["SECRET_KEY"] = "bench-only"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()


def api_key(account: Any) -> str:
    """A fresh key of `account`, with a rate limit the benchmark never meets."""
    from accounts.services import account_set_rate_limit, api_key_create

    account_set_rate_limit(account=account, per_minute=1_000_000)
    return api_key_create(account=account, name="bench lists").secret


def cursor_at(account: Any, rows: int) -> str | None:
    """The `next_cursor` a client holds after reading `rows` rows, newest first."""
    from contract.pagination import encode_cursor
    from messaging.models import Message

    if rows == 0:
        return None
    moment, pk = (
        Message.objects.filter(account=account)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[rows - 1]
    )
    return encode_cursor(moment, pk)


def get(client: Any, key: str, cursor: str | None) -> Any:
    query = {"cursor": cursor} if cursor else {}
    response = client.get("/v1/messages", query, HTTP_AUTHORIZATION=f"Bearer {key}")
    if response.status_code != 200:
        raise SystemExit(f"GET /v1/messages answered {response.status_code}: {response.content}")
    body = response.json()
    if len(body["data"]) == 0:
        raise SystemExit("an empty page: the cursor is past the end")
    return body


def measure(
    client: Any, cases: list[tuple[str, str, str | None]], loads: int
) -> dict[str, dict[str, float]]:
    """p50/p95 of the wall time and p50 of this thread's CPU time of each case, in ms.

    The cases take turns, one load each per round, so a busy moment of a shared machine
    falls on all of them alike rather than on whichever ran then.
    """
    for _ in range(WARMUP):
        for _name, key, cursor in cases:
            get(client, key, cursor)
    wall: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(loads):
        for name, key, cursor in cases:
            began, began_cpu = time.perf_counter(), time.thread_time()
            get(client, key, cursor)
            cpu[name].append((time.thread_time() - began_cpu) * 1000)
            wall[name].append((time.perf_counter() - began) * 1000)
    results = {}
    for name, timings in wall.items():
        ordered = sorted(timings)
        results[name] = {
            "p50": statistics.median(ordered),
            "p95": ordered[math.ceil(0.95 * len(ordered)) - 1],
            "cpu": statistics.median(cpu[name]),
        }
    return results


def list_sql(queryset: Any, cursor: str | None) -> str:
    """The SQL (with its values inlined) of one API page of `queryset` after `cursor`."""
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework.request import Request

    from contract.pagination import keyset_page_queryset

    request = Request(RequestFactory().get("/", {"cursor": cursor} if cursor else {}))
    page = keyset_page_queryset(request, queryset)
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor_:
        return str(cursor_.mogrify(sql, params))


def explain(title: str, sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"\n{title}\n{sql}\n{plan}")
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="of the big account")
    parser.add_argument("--small", type=int, default=10_000, help="of the yardstick account")
    parser.add_argument("--chats", type=int, default=20_000, help="of the big account")
    parser.add_argument("--loads", type=int, default=30, help="timed loads of each page")
    parser.add_argument("--db", default="switchboard_bench_lists", help="scratch database")
    parser.add_argument("--keep", action="store_true", help="keep the database for re-runs")
    args = parser.parse_args()
    deepest = args.messages // PAGE - 1
    if deepest < 5_000:
        parser.error(f"--messages must be over {5_001 * PAGE:,} (5,000 pages deep)")

    dashboard_seed.DB_NAME = args.db
    reuse = args.keep and dashboard_seed.database_exists()
    if not reuse:
        dashboard_seed.database_create()
    configure(args.db)
    try:
        dashboard_seed.migrate()
        if reuse and dashboard_seed.seeded(args.messages, args.small):
            print(f"reusing {args.db} (already seeded)")
        else:
            if reuse:
                dashboard_seed.database_drop()
                dashboard_seed.database_create()
                dashboard_seed.migrate()
            took = dashboard_seed.seed(messages=args.messages, other=args.small, chats=args.chats)
            print(f"seeded in {took:.0f} s ({took / 60:.1f} min)")
        run(args, deepest)
    finally:
        if not args.keep:
            dashboard_seed.database_drop()


def run(args: argparse.Namespace, deepest: int) -> None:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from accounts.models import Account
    from contract.pagination import encode_cursor
    from messaging.models import Chat, Message
    from messaging.selectors import chat_list, message_list

    big = Account.objects.get(name=dashboard_seed.MAIN_NAME)
    small = Account.objects.get(name=dashboard_seed.OTHER_NAME)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version')")
        (version,) = cursor.fetchone()
    rows_of = {a.name: Message.objects.filter(account=a).count() for a in (big, small)}
    print(
        f"PostgreSQL {version}, {os.cpu_count()} cores; messaging_message "
        f"{Message.objects.count():,} rows: big account {rows_of[big.name]:,}, "
        f"small account {rows_of[small.name]:,}"
    )
    big_key, small_key = api_key(big), api_key(small)
    cases = [
        ("10k account, first page (yardstick)", small_key, None),
        ("1M account, first page", big_key, None),
        ("1M account, 1,000 pages deep", big_key, cursor_at(big, 1_000 * PAGE)),
        ("1M account, 5,000 pages deep", big_key, cursor_at(big, 5_000 * PAGE)),
        (f"1M account, last page ({deepest:,} deep)", big_key, cursor_at(big, deepest * PAGE)),
    ]
    client = Client()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"\nGET /v1/messages (limit {PAGE}), in-process test Client with the account's API key; "
        f"{args.loads} loads each, taking turns, after {WARMUP} rounds to warm up; "
        f"load average {load}\n"
    )
    print(
        f"| {'page':<36} | {'p50 ms':>7} | {'p95 ms':>7} | {'CPU p50 ms':>10} "
        f"| {'p50 / yardstick':>15} |"
    )
    print(f"|{'-' * 38}|{'-' * 9}|{'-' * 9}|{'-' * 12}|{'-' * 17}|")
    results = measure(client, cases, args.loads)
    yardstick = results[cases[0][0]]["p50"]
    worst = 0.0
    for name, _, _ in cases:
        result = results[name]
        ratio = result["p50"] / yardstick
        worst = max(worst, ratio)
        print(
            f"| {name:<36} | {result['p50']:7.1f} | {result['p95']:7.1f} | {result['cpu']:10.1f} "
            f"| {ratio:15.2f} |"
        )
    verdict = "PASS" if worst <= 1.5 else "FAIL"
    print(f"\nworst ratio {worst:.2f} (acceptance: every page within 1.5 times): {verdict}")

    deep = cursor_at(big, 5_000 * PAGE)
    plan = explain(
        "EXPLAIN (ANALYZE, BUFFERS): GET /v1/messages 5,000 pages deep",
        list_sql(message_list(account=big, filters={}), deep),
    )
    busiest = (
        Message.objects.filter(account=big)
        .values("chat_id")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if busiest is not None:
        chat_rows = Message.objects.filter(account=big, chat_id=busiest["chat_id"])
        half = chat_rows.count() // 2
        moment, pk = chat_rows.order_by("-created_at", "-id").values_list("created_at", "id")[half]
        explain(
            f"EXPLAIN (ANALYZE, BUFFERS): a chat's messages ({busiest['n']:,}), half-way down",
            list_sql(
                message_list(account=big, filters={"chat_id": busiest["chat_id"]}),
                encode_cursor(moment, pk),
            ),
        )
    chats = Chat.objects.filter(account=big).order_by("-created_at", "-id")
    moment, pk = chats.values_list("created_at", "id")[chats.count() // 2]
    explain(
        "EXPLAIN (ANALYZE, BUFFERS): GET /v1/chats, half-way down",
        list_sql(chat_list(account=big), encode_cursor(moment, pk)),
    )
    one_range_scan = "Index Scan" in plan and "Rows Removed by Filter" not in plan
    print(
        "\n5,000 pages deep: "
        + ("one index range scan, no rows filtered" if one_range_scan else "NOT one range scan")
    )


if __name__ == "__main__":
    main()
