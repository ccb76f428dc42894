"""Query parameters: a GET's are HEAD's too, a write takes none, a method a path does not
serve is 405 whatever its query, and an empty value is refused as the document says."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.schema import render_document
from tests.conftest import assert_error, send

READ_WITH_QUERY = [
    "/v1/messages?channel=sms",
    "/v1/messages?chat_id=chat_x&limit=5",
    "/v1/chats?limit=5",
    "/v1/webhooks?limit=5",
    "/v1/api-keys?limit=5",
    "/v1/handles?limit=5",
    "/v1/opt-outs?limit=5&recipient=%2B14155550199",
]


@pytest.mark.parametrize("url", READ_WITH_QUERY)
def test_head_takes_the_query_parameters_of_get(alice, url):
    assert alice.client.get(url).status_code == 200
    response = alice.client.head(url)
    assert response.status_code == 200, response.content
    assert response.content == b""


@pytest.mark.parametrize("method", ["put", "patch", "delete", "trace", "query", "options"])
@pytest.mark.parametrize("url", READ_WITH_QUERY)
def test_a_method_the_path_does_not_serve_is_405_whatever_its_query(alice, method, url):
    response = alice.client.generic(method.upper(), url)
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("url", ["/v1/chats?limit=5", "/v1/api-keys?limit=5"])
def test_a_write_takes_no_query_parameter(alice, url):
    response = alice.client.post(url, {}, format="json")
    body = assert_error(response, 400, "invalid_request")
    assert body["fields"] == {"limit": ["This query parameter is not allowed."]}


# --- empty values --------------------------------------------------------------------------


def test_an_empty_chat_id_is_refused_not_read_as_every_chat(alice, alice_device):
    send(alice, to="+14155550101", text="one")
    send(alice, to="+14155550102", text="two")
    response = alice.client.get("/v1/messages?chat_id=")
    body = assert_error(response, 400, "invalid_request")
    assert body["fields"] == {"chat_id": ["This field may not be blank."]}


@pytest.mark.parametrize("name", ["from_handle", "to"])
def test_an_empty_handle_filter_is_refused_as_an_empty_handle_in_a_body_is(alice, name):
    body = assert_error(alice.client.get(f"/v1/messages?{name}="), 400, "invalid_request")
    assert body["fields"] == {name: ["This field may not be blank."]}


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chats", "/v1/handles"])
def test_an_empty_cursor_is_refused_not_the_first_page(alice, path):
    body = assert_error(alice.client.get(f"{path}?cursor="), 400, "invalid_request")
    assert body["fields"] == {"cursor": ["This field may not be blank."]}


def test_an_empty_value_among_good_ones_is_named_alone(alice):
    body = assert_error(
        alice.client.get("/v1/messages?status=queued&direction=&limit=5"), 400, "invalid_request"
    )
    assert list(body["fields"]) == ["direction"]


def _query_parameters() -> list[tuple[str, str, dict[str, Any]]]:
    """Every (path, name, schema) of a query parameter the document declares."""
    document = json.loads(render_document().content)
    return [
        (path, parameter["name"], parameter["schema"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if method == "get" and parameter.get("in") == "query"
    ]


@pytest.fixture
def path_ids(alice, alice_device):
    """An object of Alice's for each path parameter of an operation that takes a query."""
    message = send(alice, to="+14155550101", text="hi")
    webhook = alice.client.post(
        "/v1/webhooks", {"url": "http://127.0.0.1:9/hooks", "events": ["*"]}, format="json"
    ).json()["data"]
    return {"chat_id": message["chat_id"], "webhook_id": webhook["id"]}


def test_every_query_parameter_of_the_document_refuses_an_empty_value_as_it_says(
    alice, alice_device, path_ids
):
    parameters = _query_parameters()
    assert len(parameters) >= 20
    for path, name, schema in parameters:
        # What says "not empty": a string of at least one character, or not a string at all.
        assert schema.get("type") != "string" or schema.get("minLength", 0) >= 1, (path, name)
        client = alice_device.client if path.startswith("/device/") else alice.client
        response = client.get(f"{path.format(**path_ids)}?{name}=")
        assert response.status_code == 400, (path, name, response.content)
        body = response.json()
        assert body["error"] in {"invalid_request", "invalid_handle"}, (path, name, body)
        assert list(body["fields"]) == [name], (path, name, body)
