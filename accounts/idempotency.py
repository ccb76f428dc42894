"""`Idempotency-Key` for every POST, PATCH and DELETE of the API, once, for all views.

- The key's scope is the account; a stored response is kept 24 hours.
- The same key with the same method, path and body replays the stored response byte for
  byte (status, body, request id) with `Idempotent-Replayed: true`.
- The same key with a different request answers 422 `idempotency_key_reused`.
- While the first request with a key runs, another with that key answers 409
  `idempotency_key_in_use` (a lock in the shared cache, so it holds across processes). On
  Redis the lock is taken in the same round trip as the key's budget (`accounts.ratelimit`,
  `idempotency_lock_wanted`). A request whose response was stored leaves its lock to expire
  (one round trip fewer): a repeat that finds the lock held finds the stored response too,
  and gets it. Any other request lets go of its lock when it ends, so a retry runs.
- The response is stored in the same transaction as the work: a 5xx rolls both back, and
  429/401 are decided before the work starts, so none of them is stored and a retry runs.
  Any other error (4xx) rolls back all the work its request did, then is stored on its own.
- Where a view's work touches nothing but the database (`checked_at_store`, the send path),
  the stored response is not looked up before the work: the work runs and the response is
  stored with `INSERT … ON CONFLICT`, which also replaces a record past its retention; a
  conflict with a live record (a repeat after its lock expired) rolls all the work back and
  answers as a repeat does. One statement fewer for every first request.
- A secret shown once (a new API key, a webhook signing secret) is never stored: its field
  is null in the stored response, so a replay says what was created but not the secret.
- Views whose work is a synchronous device action (the device must see the job before the
  view returns) run outside that transaction; their response is stored right after, and
  the lock still keeps a second request with the key out while the first runs.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from redis import RedisError
from rest_framework.request import Request

from accounts.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from accounts.models import Account, IdempotencyRecord
from contract import raw
from contract.errors import InvalidRequest
from contract.parsers import loads_strict
from contract.request_id import HEADER as REQUEST_ID_HEADER
from contract.request_id import current_request_id
from contract.shared_redis import cache_key, shared_redis
from contract.transactions import all_or_nothing, with_late

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PATCH", "DELETE"})
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Responses that are never stored: the client must be able to retry them.
_NEVER_STORED = frozenset({401, 429})
# Where a lock already taken for this request (with its budget) is noted: (lock key, taken).
_LOCK_NOTE = "idempotency_lock"


def idempotency_key_of(request: Request) -> str | None:
    """The request's Idempotency-Key, validated; None when absent or not applicable."""
    if request.method not in METHODS:
        return None
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is None:
        return None
    if not _VALID_KEY.match(key):
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.",
            fields={HEADER: ["Must be 1 to 255 printable ASCII characters."]},
        )
    return key


def idempotency_lock_key(*, account_id: str, key: str) -> str:
    return "idem-lock:" + hashlib.sha256(f"{account_id}\0{key}".encode()).hexdigest()


def idempotency_lock_wanted(request: Request, view: Any, *, account_id: str) -> str | None:
    """The lock this request will need (the view runs its writes once per key), or None."""
    if not getattr(view, "idempotent_writes", False) or view._handler(request) is None:
        return None  # not an idempotent write, or a 405 (which comes first)
    try:
        key = idempotency_key_of(request)
    except InvalidRequest:
        return None  # the view answers the malformed key with its 400
    return None if key is None else idempotency_lock_key(account_id=account_id, key=key)


def idempotency_lock_noted(request: Request, *, lock_key: str, taken: bool) -> None:
    """Note a lock taken (or found taken) for this request by someone else's round trip."""
    setattr(request._request, _LOCK_NOTE, (lock_key, taken))


def _lock_take(request: Request, lock_key: str) -> bool:
    noted = getattr(request._request, _LOCK_NOTE, None)
    if noted is not None and noted[0] == lock_key:
        return bool(noted[1])
    lock_seconds = int(settings.SWITCHBOARD_IDEMPOTENCY_LOCK_SECONDS)
    return bool(cache.add(lock_key, current_request_id(), timeout=lock_seconds))


def _lock_release(request: Request, lock_key: str) -> None:
    setattr(request._request, _LOCK_NOTE, None)
    client = shared_redis()
    if client is None:
        cache.delete(lock_key)
        return
    # On a failure it expires by itself (SWITCHBOARD_IDEMPOTENCY_LOCK_SECONDS).
    with contextlib.suppress(RedisError):
        client.delete(cache_key(lock_key))


def idempotency_lock_release_unused(request: Request) -> None:
    """Release a lock noted for this request that its view will not run under (it failed
    before its handler: a bad query, say)."""
    noted = getattr(request._request, _LOCK_NOTE, None)
    if noted is not None and noted[1]:
        _lock_release(request, noted[0])


def request_fingerprint(request: Request) -> str:
    """SHA-256 of method, path (with query) and body; JSON bodies compared by value."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/"):
        # Compared by its fields and its files' sha256 (taken while it streamed in), never
        # by the raw body: the multipart boundary differs between retries of one upload.
        fields = sorted((k, v) for k, v in request.POST.items())
        files = sorted(getattr(request._request, "upload_digests", {}).items())
        raw = json.dumps([fields, files, sorted(request.FILES)]).encode()
    else:
        raw = request._request.body
    body = raw
    if raw and content_type.startswith("application/json"):
        # Parsed by the API's own rules: a body they refuse (too deep to parse, say) is
        # compared byte for byte, and the view answers it with a 400.
        try:
            parsed = loads_strict(raw.decode())
            body = json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, InvalidRequest):
            body = raw
    digest = hashlib.sha256()
    for part in (request.method or "").encode(), request.get_full_path().encode(), body:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _redacted(body: bytes, fields: tuple[str, ...]) -> bytes:
    """The body without secrets that are shown once (`data.<field>` becomes null)."""
    if not fields:
        return body
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not any(name in data for name in fields):
        return body
    for name in fields:
        if name in data:
            data[name] = None
    return json.dumps(payload, separators=(",", ":")).encode()


def _storable(status: int) -> bool:
    return status < 500 and status not in _NEVER_STORED


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type
    )
    response[REPLAYED_HEADER] = "true"
    response[REQUEST_ID_HEADER] = record.request_id
    return response


class _Discarded(Exception):
    def __init__(self, response: HttpResponseBase) -> None:
        self.response = response


class _KeyTaken(Exception):
    """The key has a live stored response (found by the store itself, `checked_at_store`)."""


def _store(
    request: Request,
    account: Account,
    key: str,
    fingerprint: str,
    response: HttpResponseBase,
    redact: tuple[str, ...],
    *,
    unless_live: bool = False,
) -> bool:
    """Store the response for replays, if it is one that is stored; whether it was.

    `unless_live`: the key was not looked up first. A record of the key past its retention
    is replaced; a live one is left as it is and `_KeyTaken` raised."""
    if not _storable(response.status_code):
        return False
    record = IdempotencyRecord(
        account=account,
        key=key,
        fingerprint=fingerprint,
        method=request.method or "",
        path=request.get_full_path()[:2048],
        status_code=response.status_code,
        content_type=response.get("Content-Type", "application/json"),
        body=_redacted(bytes(response.content), redact),  # type: ignore[attr-defined]
        request_id=response.get(REQUEST_ID_HEADER) or current_request_id(),
    )
    # By hand, not `create()`: this runs on every write with a key (see contract.raw).
    # With what the work left to the end of its transaction (contract.transactions): one
    # statement, right before the commit.
    params = raw.insert_params(record, skip_auto=True)
    if unless_live:
        sql, params, finish = with_late(_upsert_sql(), [*params, _expires_before()])
    else:
        sql, params, finish = with_late(_insert_sql(), params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if unless_live and cursor.rowcount == 0:
            raise _KeyTaken()
        finish(cursor.fetchone() if cursor.description else None)
    return True


@functools.cache
def _insert_sql() -> str:
    names = raw.insert_columns(IdempotencyRecord, skip_auto=True)
    count = len(names.split(", "))
    return (
        f"INSERT INTO {raw.table(IdempotencyRecord)} ({names}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * count)})"
    )


@functools.cache
def _upsert_sql() -> str:
    """The insert, replacing a record of the same key only if it is past its retention."""
    names = raw.insert_columns(IdempotencyRecord, skip_auto=True)
    table = raw.table(IdempotencyRecord)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names.split(", "))
    return (
        f"{_insert_sql()} ON CONFLICT (account_id, key) DO UPDATE SET {updates} "
        f"WHERE {table}.created_at < %s"
    )


def _expires_before() -> Any:
    """Records created before this are past their retention."""
    return timezone.now() - timedelta(hours=int(settings.SWITCHBOARD_IDEMPOTENCY_TTL_HOURS))


@functools.cache
def _select_sql() -> str:
    return (
        f"SELECT {raw.columns(IdempotencyRecord)} FROM {raw.table(IdempotencyRecord)} "  # noqa: S608
        "WHERE account_id = %s AND key = %s"
    )


def _record_get(*, account: Account, key: str) -> IdempotencyRecord | None:
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(), [account.pk, key])
        row = cursor.fetchone()
    return None if row is None else raw.from_row(IdempotencyRecord, row)


def _live_record(*, account: Account, key: str) -> IdempotencyRecord | None:
    """The stored response of this key, unless past its retention (then deleted: the key is
    free again)."""
    record = _record_get(account=account, key=key)
    if record is not None and record.created_at < _expires_before():
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return None
    return record


def _repeat(record: IdempotencyRecord, *, key: str, fingerprint: str) -> HttpResponse:
    """The answer to a repeat: the stored response, or 422 for another request."""
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used with a different request "
            f"({record.method} {record.path}).",
        )
    return _replay(record)


def run_idempotently(
    *,
    request: Request,
    account: Account,
    key: str,
    respond: Callable[[], HttpResponseBase],
    in_transaction: bool = True,
    redact: tuple[str, ...] = (),
    checked_at_store: bool = False,
) -> HttpResponseBase:
    """Run `respond` at most once per (account, key); replay or refuse repeats.

    `checked_at_store`: `respond` changes nothing outside the database, so it may run before
    the key is looked up (the store finds a live record, and all of the work is rolled back)."""
    fingerprint = request_fingerprint(request)
    lock_key = idempotency_lock_key(account_id=account.pk, key=key)
    if not _lock_take(request, lock_key):
        # Held: a request with this key is running (409), or one finished, stored its
        # response and left its lock to expire (a round trip saved): replay that.
        record = _live_record(account=account, key=key)
        if record is None:
            raise IdempotencyKeyInUse()
        return _repeat(record, key=key, fingerprint=fingerprint)
    stored = False
    # On PostgreSQL only (ON CONFLICT … WHERE), and only in the all-or-nothing transaction.
    unless_live = checked_at_store and in_transaction and connection.vendor == "postgresql"
    try:
        if unless_live:
            try:
                stored, response = _run_in_transaction(
                    request, account, key, fingerprint, respond, redact, unless_live=True
                )
                return response
            except _KeyTaken:
                unless_live = False  # a repeat: answered below, as when it is looked up first
        record = _live_record(account=account, key=key)
        if record is not None:
            return _repeat(record, key=key, fingerprint=fingerprint)
        if not in_transaction:
            response = respond()
            if hasattr(response, "render"):
                response.render()
        else:
            stored, response = _run_in_transaction(
                request, account, key, fingerprint, respond, redact, unless_live=False
            )
            return response
        stored = _store(request, account, key, fingerprint, response, redact)
        return response
    finally:
        if not stored:  # nothing to replay: the next request with the key runs
            _lock_release(request, lock_key)


def _run_in_transaction(
    request: Request,
    account: Account,
    key: str,
    fingerprint: str,
    respond: Callable[[], HttpResponseBase],
    redact: tuple[str, ...],
    *,
    unless_live: bool,
) -> tuple[bool, HttpResponseBase]:
    """Run `respond` and store its response in one transaction; (whether it was stored, the
    response). An error response rolls the work back and is stored on its own."""
    try:
        with all_or_nothing():
            response = respond()
            if hasattr(response, "render"):
                response.render()
            if response.status_code >= 400:
                # Errors change nothing: drop all the work (and its on-commit tasks; no
                # savepoint to keep, the record is stored on its own below), keep the answer
                # so a retry of the same request gets the same answer.
                raise _Discarded(response)
            stored = _store(
                request, account, key, fingerprint, response, redact, unless_live=unless_live
            )
        return stored, response
    except _Discarded as discarded:
        response = discarded.response
    stored = _store(request, account, key, fingerprint, response, redact, unless_live=unless_live)
    return stored, response
