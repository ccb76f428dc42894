"""Long-polls that hold neither a thread nor a database connection while they wait.

`GET /device/v1/jobs?wait=…` is one view everywhere (`JobsView`): authentication, validation,
errors, headers and the first look at the jobs table run as for any other request. Under
WSGI (the `web` process, the tests' live server) the view then waits in its thread. Under
ASGI (the Procfile's `agents` process, gunicorn's asyncio worker; config/asgi.py) it does not:
it parks the wait here (`park`) and answers "no jobs" with a private header naming it. Django
is then done with the request — its thread, its database connection (back to the pool) and
its request context are released — and `long_poll_application`, the ASGI layer around Django,
holds that answer back and waits in the event loop on an asyncio.Event for the handle's
wake-up key. Two things set it: a wake-up (`handles.wakeups`: one Redis subscription per
process for every waiting poll, plus the key's mailbox for a wake sent just before the poll
listened), and the process's batched re-check, one query every `DB_RECHECK_SECONDS` or so for
every handle its polls wait on (lost wake-ups, leases that ran out). When set, the poll leases
on a pooled connection in an executor thread, for that moment only. When jobs come or `wait`
runs out, it sends the view's status and headers with the body it would have rendered
(`{"data": […], "request_id": …}`, Content-Length corrected).

A waiting device thus costs its socket and a small dict entry: no thread, no database
connection, no Redis connection of its own, and no query of its own between wake-ups. While
Redis is away the re-checks alone find new jobs; a failure of the database during the wait
ends it early with no jobs (nothing was leased) and the device's next poll meets the 503. A
client that hangs up is not noticed until its wait is over (gunicorn reports the disconnect to
Django's listener only): jobs leased for it then are handed out again when their 60 s lease
runs out, as under WSGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from redis.exceptions import RedisError
from rest_framework.renderers import JSONRenderer

from handles import selectors, services, wakeups
from handles.device.serializers import JobOutput
from handles.models import Device

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

JOBS_PATH = "/device/v1/jobs"
# Set by the view on a parked answer, removed before the answer leaves the process.
PARKED_HEADER = "X-Switchboard-Parked-Wait"
_PARKED_HEADER_KEY = PARKED_HEADER.lower().encode("latin-1")

# Between wake-ups the jobs table is re-read every 2 s on average (lost wake-ups, leases that
# ran out), jittered: under WSGI by each waiting poll (agents that started together do not
# re-check together), under ASGI by one query a process for all of its waiting polls.
DB_RECHECK_SECONDS = 2.0


def recheck_interval() -> float:
    return DB_RECHECK_SECONDS * random.uniform(0.5, 1.5)


def release_database_connection() -> None:
    """Give this thread's connection back (to the pool) before a wait: idle pollers hold none."""
    if not connection.in_atomic_block:
        connection.close()


@dataclass(frozen=True)
class ParkedWait:
    device: Device
    limit: int
    deadline: float  # time.monotonic() of this process
    request_id: str


# Parked by the view (a Django thread), taken by the ASGI layer (the event loop) as soon as
# the view's answer passes through it; dict operations are atomic under the GIL.
_parked: dict[str, ParkedWait] = {}


def park(*, device: Device, limit: int, deadline: float, request_id: str) -> str:
    """Leave the rest of this poll's wait to the ASGI layer; the token its answer carries."""
    now = time.monotonic()
    for token, wait in list(_parked.items()):  # never taken (no ASGI layer): forget them
        if wait.deadline < now - 60:
            _parked.pop(token, None)
    token = secrets.token_urlsafe(12)
    _parked[token] = ParkedWait(
        device=device, limit=limit, deadline=deadline, request_id=request_id
    )
    return token


def lease_rendered(*, device: Device, limit: int) -> list[dict[str, Any]]:
    """Lease up to `limit` of the device's jobs, as the response's `data`; the connection goes
    back to the pool before the thread is given back."""
    try:
        jobs = services.jobs_lease(device=device, limit=limit)
        return list(JobOutput(jobs, many=True).data)
    finally:
        release_database_connection()


class _Rechecks:
    """The handles this event loop's polls wait on, re-checked together: one query every
    `DB_RECHECK_SECONDS` or so for the whole process, however many devices wait (for wake-ups
    that were lost, and leases that ran out)."""

    def __init__(self) -> None:
        self.waiting: Counter[int] = Counter()
        self.task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def waiting_on(self, handle_id: int) -> Iterator[None]:
        self.waiting[handle_id] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._recheck())
        try:
            yield
        finally:
            self.waiting[handle_id] -= 1
            if self.waiting[handle_id] <= 0:
                del self.waiting[handle_id]

    async def _recheck(self) -> None:
        ready_among = sync_to_async(_handles_with_jobs_ready, thread_sensitive=False)
        while self.waiting:
            await asyncio.sleep(recheck_interval() if wakeups.has_redis() else 1.0)
            if not self.waiting:
                return
            try:
                ready = await ready_among(list(self.waiting))
            except Exception:  # the database is away: the polls end on their deadlines
                logger.warning("The long-polls' re-check failed", exc_info=True)
                continue
            for handle_id in ready:
                wakeups.poke(services.handle_wakeup_key(handle_id))


def _handles_with_jobs_ready(handle_ids: list[int]) -> set[int]:
    try:
        return selectors.handles_with_jobs_ready(handle_ids=handle_ids)
    finally:
        release_database_connection()


_rechecks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Rechecks] = (
    weakref.WeakKeyDictionary()
)


def _rechecks_of_this_loop() -> _Rechecks:
    loop = asyncio.get_running_loop()
    rechecks = _rechecks.get(loop)
    if rechecks is None:
        rechecks = _rechecks.setdefault(loop, _Rechecks())
    return rechecks


async def jobs_when_ready(wait: ParkedWait) -> list[dict[str, Any]]:
    """Wait in the event loop until the device's handle has jobs (leased, rendered) or until
    the deadline; [] if none came or the wait failed."""
    handle_id = wait.device.handle_id
    key = services.handle_wakeup_key(handle_id)
    lease = sync_to_async(lease_rendered, thread_sensitive=False)
    try:
        with wakeups.listening(key) as woken, _rechecks_of_this_loop().waiting_on(handle_id):
            with contextlib.suppress(RedisError):  # a wake sent before we listened
                if await wakeups.woken_recently(key):
                    woken.set()
            while True:
                remaining = wait.deadline - time.monotonic()
                if remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(woken.wait(), remaining)
                except TimeoutError:
                    return []
                woken.clear()
                jobs = await lease(device=wait.device, limit=wait.limit)
                if jobs:
                    return jobs
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("A long-poll's wait failed; it ends with no jobs")
        return []


def _without(headers: list[Any], *names: bytes) -> list[Any]:
    return [(name, value) for name, value in headers if name.lower() not in names]


def long_poll_application(django: ASGIApp, *, concurrency: int) -> ASGIApp:
    """Django's ASGI application, with parked long-polls waited for outside of Django, and at
    most `concurrency` requests inside Django at once.

    Django runs each request's view in a thread of its own: 500 devices polling at once would
    be 500 threads fighting over the GIL and `concurrency` pooled connections, each thread
    holding its connection ever longer, until requests time out waiting for one (503s at the
    restart of an agents process, when every device polls again). Past the limit a request
    waits in the event loop, holding nothing, for its turn; a parked poll gives its turn up
    as soon as Django has answered it.
    """
    slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await django(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        turn = slots.setdefault(loop, asyncio.Semaphore(concurrency))
        if scope.get("path") != JOBS_PATH:
            async with turn:
                await django(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_parked(message: Message) -> None:
            parked = message["type"] == "http.response.start" and any(
                name.lower() == _PARKED_HEADER_KEY for name, _ in message.get("headers", ())
            )
            if held or parked:
                held.append(message)
            else:
                await send(message)

        async with turn:
            await django(scope, receive, hold_parked)
        if not held:
            return
        start, rest = held[0], held[1:]
        token = next(v for n, v in start["headers"] if n.lower() == _PARKED_HEADER_KEY).decode()
        headers = _without(start["headers"], _PARKED_HEADER_KEY)
        wait = _parked.pop(token, None)
        if wait is None:  # not parked in this process (cannot happen): the view's own answer
            await send({**start, "headers": headers})
            for message in rest:
                await send(message)
            return
        jobs = await jobs_when_ready(wait)
        body = JSONRenderer().render({"data": jobs, "request_id": wait.request_id})
        headers = _without(headers, b"content-length")
        headers.append((b"Content-Length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return application
