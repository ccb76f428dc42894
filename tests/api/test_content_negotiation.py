"""Content negotiation: DRF's answer for a kind of request is remembered per process
(contract.negotiation), and stays the answer DRF gives for every request of that kind."""

from __future__ import annotations

from tests.conftest import assert_error


def test_a_client_that_accepts_only_html_is_refused_every_time(alice):
    first = alice.client.get("/v1/account", HTTP_ACCEPT="text/html")
    second = alice.client.get("/v1/account", HTTP_ACCEPT="text/html")
    assert_error(first, 406, "invalid_request")
    assert_error(second, 406, "invalid_request")


def test_a_refused_accept_header_does_not_change_the_answer_to_others(alice):
    alice.client.get("/v1/account", HTTP_ACCEPT="text/html")
    for accept in ("application/json", "*/*", "application/*;q=0.5, text/html"):
        response = alice.client.get("/v1/account", HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "application/json"
        assert "request_id" in response.json()
