from __future__ import annotations

import re

REQUEST_ID = re.compile(r"^req_[A-Za-z0-9_-]{24,}$")


def test_success_body_carries_the_request_id_of_the_header(alice):
    response = alice.client.get("/v1/account")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "request_id"}
    assert REQUEST_ID.match(body["request_id"])
    assert body["request_id"] == response["X-Request-Id"]


def test_every_request_gets_its_own_id(alice):
    ids = {alice.client.get("/v1/account")["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_a_client_supplied_request_id_is_not_trusted(alice):
    response = alice.client.get("/v1/account", HTTP_X_REQUEST_ID="req_chosen_by_the_client")
    assert response["X-Request-Id"] != "req_chosen_by_the_client"
    assert REQUEST_ID.match(response["X-Request-Id"])


def test_health_responses_carry_a_request_id(anonymous, db):
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"data": {"status": "ok"}, "request_id": response["X-Request-Id"]}
