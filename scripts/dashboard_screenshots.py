"""Regenerate the dashboard screenshots of docs/dashboard.md: docs/dashboard/<page>.png.

Start the platform, which prints the demo owner's email and password::

    make run                                   # or: PORT=8123 make run

then, in another terminal::

    .venv/bin/python scripts/dashboard_screenshots.py --password '<the printed password>'
    .venv/bin/python scripts/dashboard_screenshots.py --base-url http://127.0.0.1:8123 \\
        --email demo@example.com --password '<the printed password>'

It drives Debian's Chromium (/usr/bin/chromium, `bash scripts/ensure_chromium.sh`) through
Playwright with the flags and the 1280x800 viewport of the browser tests
(tests/browser/conftest.py), takes the sign-in and password-reset pages signed out, signs in
through the form, and saves a full-page PNG of every dashboard page of the first account:
the first conversation, message, opt-out (its remove page) and handle, and the first webhook
endpoint and delivery when there are any (create an endpoint and send it a test event, and
add an opt-out, first to have them).
Nothing is written to the server but the sign-in. Options: --base-url (default
http://127.0.0.1:8000), --email (default demo@example.com), --password (required), --out
(default docs/dashboard).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORT  # noqa: E402

LOCAL_HOSTS = {"localhost", "127.0.0.1"}


class ScreenshotError(Exception):
    pass


def chromium_args(base_url: str) -> list[str]:
    """The browser tests' flags; a server on another host is let through their resolver
    rules (which otherwise resolve only localhost and 127.0.0.1)."""
    host = urlsplit(base_url).hostname or ""
    if host in LOCAL_HOSTS:
        return list(CHROMIUM_ARGS)
    return [
        f"{arg}, EXCLUDE {host}" if arg.startswith("--host-resolver-rules=") else arg
        for arg in CHROMIUM_ARGS
    ]


class Shooter:
    def __init__(self, page: Page, base_url: str, out: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.out = out
        self.saved: list[Path] = []

    def visit(self, path_or_url: str) -> None:
        url = path_or_url if "://" in path_or_url else f"{self.base_url}{path_or_url}"
        response = self.page.goto(url)
        if response is None or response.status != 200:
            status = response.status if response else "no response"
            raise ScreenshotError(f"{url} answered {status}")
        self.page.wait_for_load_state("networkidle")

    def shoot(self, name: str) -> None:
        path = self.out / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        self.saved.append(path)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {self.page.url}")

    def visit_and_shoot(self, name: str, path: str) -> None:
        self.visit(path)
        self.shoot(name)

    def first_link(self, selector: str) -> str | None:
        """The href of the first element `selector` matches on this page, if any."""
        link = self.page.locator(selector).first
        return link.get_attribute("href") if link.count() else None

    def sign_in(self, email: str, password: str) -> str:
        """Sign in through the form; the account's root path (/dashboard/<id>/)."""
        self.visit("/dashboard/login/")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state("networkidle")
        path = urlsplit(self.page.url).path
        if path.startswith("/dashboard/login/") or not path.startswith("/dashboard/acct_"):
            heading = self.page.get_by_role("heading", level=1).first.text_content()
            raise ScreenshotError(f"signing in as {email} failed: {heading!r} at {self.page.url}")
        return "/".join(path.split("/")[:3]) + "/"


def take(shooter: Shooter, email: str, password: str) -> None:
    shooter.visit_and_shoot("login", "/dashboard/login/")
    shooter.visit_and_shoot("password-reset", "/dashboard/password-reset/")

    account = shooter.sign_in(email, password)
    shooter.visit_and_shoot("overview", account)

    shooter.visit_and_shoot("conversations", f"{account}conversations/")
    conversation = shooter.first_link(".chat-list a")
    if conversation:
        shooter.visit_and_shoot("conversation", conversation)

    shooter.visit_and_shoot("messages", f"{account}messages/")
    message = shooter.first_link("table tbody th a")
    if message:
        shooter.visit_and_shoot("message", message)
    shooter.visit_and_shoot("new-message", f"{account}messages/new/")

    shooter.visit_and_shoot("opt-outs", f"{account}opt-outs/")
    opt_out_remove = shooter.first_link("table tbody a[href$='/remove/']")
    if opt_out_remove:
        shooter.visit_and_shoot("opt-out-remove", opt_out_remove)

    shooter.visit_and_shoot("handles", f"{account}handles/")
    handle = shooter.first_link("table tbody th a")
    if handle:
        shooter.visit_and_shoot("handle", handle)

    shooter.visit_and_shoot("api-keys", f"{account}api-keys/")

    shooter.visit_and_shoot("webhooks", f"{account}webhooks/")
    endpoint = shooter.first_link("table tbody th a")
    if endpoint:
        shooter.visit_and_shoot("webhook-endpoint", endpoint)
        delivery = shooter.first_link("table tbody th a")
        if delivery:
            shooter.visit_and_shoot("webhook-delivery", delivery)

    shooter.visit_and_shoot("team", f"{account}team/")

    missing = {
        "conversation",
        "message",
        "opt-out-remove",
        "handle",
        "webhook-endpoint",
        "webhook-delivery",
    } - {path.stem for path in shooter.saved}
    if missing:
        print(f"nothing to show for: {', '.join(sorted(missing))} (the account has none)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="demo@example.com")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard")
    options = parser.parse_args(argv)
    base_url = options.base_url.rstrip("/")
    out: Path = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args(base_url))
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            shooter = Shooter(context.new_page(), base_url, out)
            take(shooter, options.email, options.password)
        except ScreenshotError as error:
            print(f"dashboard_screenshots: {error}", file=sys.stderr)
            return 1
        finally:
            browser.close()
    print(f"{len(shooter.saved)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
