"""The API reference (/v1/docs) renders from our own files under the site's CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Request


def test_the_api_reference_renders_from_our_own_files_without_csp_violations(
    page: Page, base_url: str, page_errors: list[str], transactional_db: None
):
    hosts: set[str] = set()  # of the requests that were made and answered
    page.on("requestfinished", lambda request: hosts.add(_host(request)))

    response = page.goto(f"{base_url}/v1/docs")
    assert response is not None
    assert response.status == 200
    # ReDoc drew the document: its title and an operation of ours.
    page.get_by_role("heading", name="Switchboard API").first.wait_for()
    page.get_by_role("heading", name="Send a message").first.wait_for()

    assert hosts - {""} == {urlsplit(base_url).netloc}  # "": ReDoc's blob: worker
    # ReDoc's "API docs by Redocly" badge points at their CDN: the policy refuses it, which is
    # the point; nothing else may fail or be refused.
    refused_badge = [e for e in page_errors if "https://cdn.redoc.ly/" in e]
    assert len(refused_badge) <= 1
    assert [e for e in page_errors if e not in refused_badge] == []


def _host(request: Request) -> str:
    return urlsplit(request.url).netloc
