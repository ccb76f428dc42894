"""Browser tests: Playwright (sync API) driving Debian's Chromium against the live server.

A test asks for `page` (a fresh context and tab, 1280x800, 10 s timeouts) and `base_url`
(pytest-django's `live_server`, so it runs with `transactional_db`)::

    from tests.browser.conftest import assert_accessible, log_in, screenshot

    def test_the_admin_index(page, base_url, django_user_model):
        user = django_user_model.objects.create_user("a@example.com", is_staff=True)
        log_in(page, base_url, user)
        page.goto(f"{base_url}/admin/")
        assert_accessible(page)
        screenshot(page, "admin-index")

Chromium comes from apt (`bash scripts/ensure_chromium.sh`, part of `make services`);
Playwright's own browser download is never used. Pages can only reach the live server:
requests to any other host fail at once instead of waiting on the network.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    sync_playwright,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Playwright's sync API runs an asyncio loop in the test's thread while it is started, and
# Django refuses ORM calls from a thread with a running loop (SynchronousOnlyOperation).
# Django reads this on every guarded call; the ORM calls of these tests are synchronous
# ones made between Playwright calls, so the check is moot here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Only the live server (localhost / 127.0.0.1) resolves: a page that pulls something
    # from the internet (ReDoc's CDN script) fails that request at once instead of hanging.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
FAILING_IMPACTS = frozenset({"serious", "critical"})

_axe = Axe()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test file (xdist runs with --dist loadfile).

    Playwright is started and stopped with it: while it runs, this thread has a running
    asyncio loop, which the tests of other files must not inherit.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/ensure_chromium.sh` (as root)")
    with sync_playwright() as playwright:
        # A plain launch() gets a fresh, temporary user data dir.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Console errors and uncaught exceptions of this test's `page`, in order."""
    return []


@pytest.fixture
def page(browser: Browser, page_errors: list[str]) -> Iterator[Page]:
    """A new context (no cookies, no storage) and tab for each test; closed after it."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    tab = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_errors.append(f"console: {message.text}")

    def on_page_error(error: Error) -> None:
        page_errors.append(f"uncaught: {error.message}")

    tab.on("console", on_console)
    tab.on("pageerror", on_page_error)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def base_url(live_server: Any) -> str:
    """The live server's root, e.g. http://localhost:41234 (no trailing slash)."""
    return str(live_server.url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a test with a `page` fails, keep a screenshot of it and list its console errors
    in the report (var/screenshots/failures/<test>.png)."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    tab = funcargs.get("page")
    if report.when == "call" and report.failed and isinstance(tab, Page) and not tab.is_closed():
        name = re.sub(r"[^\w.-]+", "_", item.nodeid)
        try:
            path = screenshot(tab, f"failures/{name}")
        except Error as error:
            report.sections.append(("browser", f"no screenshot: {error.message}"))
        else:
            report.sections.append(("browser", f"page {tab.url}, screenshot {path}"))
        errors = funcargs.get("page_errors") or []
        if errors:
            report.sections.append(("browser console", "\n".join(errors)))
    return report


def assert_accessible(
    page: Page, *, selector: str | None = None, ignore_rules: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Run axe-core on the page (or the part `selector` matches); fail on any violation of
    impact "serious" or "critical", listing each with the elements it concerns.

    Returns every violation found (minor and moderate ones included) for tests that want
    to look further. `ignore_rules` holds axe rule ids (e.g. "color-contrast") to leave out.
    """
    results = _axe.run(page, context=selector)
    violations: list[dict[str, Any]] = [
        v for v in results.response["violations"] if v["id"] not in ignore_rules
    ]
    failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    if failing:
        lines = [f"{len(failing)} serious or critical accessibility violation(s) on {page.url}:"]
        for violation in failing:
            lines.append(
                f"- [{violation['impact']}] {violation['id']}: {violation['help']} "
                f"({violation['helpUrl']})"
            )
            for node in violation["nodes"]:
                target = " ".join(str(t) for t in node["target"])
                html = re.sub(r"\s+", " ", node.get("html", ""))[:200]
                lines.append(f"    at {target}: {html}")
        raise AssertionError("\n".join(lines))
    return violations


def log_in(page: Page, base_url: str, user: User) -> None:
    """Sign `user` in for this page's context without the login form: a session made
    server-side (Client.force_login) whose cookie goes into the browser, flags and all.

    For the tests of everything but signing in; the sign-in page deserves its own test
    through the form.
    """
    from django.test import Client  # here: this module imports before Django is set up too

    client = Client()
    client.force_login(user)
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [
            {
                "name": morsel.key,
                "value": morsel.value,
                "url": base_url,
                "httpOnly": settings.SESSION_COOKIE_HTTPONLY,
                "secure": settings.SESSION_COOKIE_SECURE,
                "sameSite": "Lax",  # as SESSION_COOKIE_SAMESITE
            }
        ]
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as var/screenshots/<name>.png and return its path.

    `name` may hold folders ("dashboard/home"); they are created.
    """
    path = (SCREENSHOTS / f"{name}.png").resolve()
    if not path.is_relative_to(SCREENSHOTS):
        raise ValueError(f"screenshot name {name!r} leaves {SCREENSHOTS}")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    return path
