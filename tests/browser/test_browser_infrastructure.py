"""The browser-test infrastructure works: Chromium reaches the live server, sees rows the
test wrote, keeps a session, and `assert_accessible` tells a broken page from a clean one."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page

from accounts import services
from tests.browser.conftest import assert_accessible, log_in, screenshot


def test_chromium_opens_the_api_docs_and_the_api_sees_the_tests_rows(page: Page, base_url: str):
    response = page.goto(f"{base_url}/v1/docs")
    assert response is not None
    assert response.status == 200
    assert page.title() == "Switchboard API"
    assert "/v1/openapi.json" in page.content()

    # An ORM call between Playwright calls (DJANGO_ALLOW_ASYNC_UNSAFE), committed where the
    # live server's thread sees it (transactional_db), read back by the page's own fetch().
    account, issued = services.account_create(name="Browser Co")
    answer = page.evaluate(
        """async (secret) => {
            const response = await fetch("/v1/account", {
                headers: {Authorization: `Bearer ${secret}`},
            });
            return {status: response.status, body: await response.json()};
        }""",
        issued.secret,
    )
    assert answer["status"] == 200
    assert answer["body"]["data"]["name"] == "Browser Co"
    assert answer["body"]["data"]["id"] == account.id


PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

BROKEN = f"""<!doctype html>
<html lang="en"><head><title>Broken</title></head>
<body><main>
  <h1>Upload</h1>
  <img src="{PIXEL}">
  <form><input type="text" name="number"><button type="submit"></button></form>
</main></body></html>"""

CLEAN = f"""<!doctype html>
<html lang="en"><head><title>Clean</title></head>
<body><main>
  <h1>Upload</h1>
  <img src="{PIXEL}" alt="Company logo">
  <form>
    <label for="number">Phone number</label><input id="number" type="text" name="number">
    <button type="submit">Send</button>
  </form>
</main></body></html>"""


def test_assert_accessible_fails_on_serious_violations_and_passes_a_clean_page(page: Page):
    page.set_content(BROKEN)
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    report = str(failure.value)
    assert "[critical] image-alt" in report
    assert "[critical] label" in report
    assert "[critical] button-name" in report
    assert "<img" in report

    page.set_content(CLEAN)
    assert assert_accessible(page) == []
    assert screenshot(page, "infrastructure/clean").stat().st_size > 0


def test_log_in_gives_the_browser_a_session_over_plain_http(page: Page, base_url: str):
    """SESSION_COOKIE_SECURE is on in tests; Chromium keeps Secure cookies for
    http://localhost (a secure context), so the session holds."""
    user = get_user_model().objects.create_user(
        username="staff@example.com", email="staff@example.com", is_staff=True
    )
    log_in(page, base_url, user)
    response = page.goto(f"{base_url}/admin/")
    assert response is not None
    assert response.status == 200
    assert page.url == f"{base_url}/admin/"
    assert "staff@example.com" in (page.text_content("#user-tools") or "")
