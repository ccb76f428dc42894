"""No input gets a 500: ids that cannot exist are 404, bad input is 400 naming its field.

The by-id routes are read from the URLconf, so a route added later is covered the day it is
added: every `<parameter>` of every `/v1/`, `/device/v1/` and dashboard route, holding a NUL
(which PostgreSQL refuses, so it used to surface as a 500), with every method its view has.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiKey
from config.urls import account_pages
from contract.errors import InvalidRequest
from contract.parsers import MAX_DEPTH, loads_strict
from handles.models import DeviceEvent
from messaging.models import Attachment, Message
from tests.conftest import assert_error, signed_in
from tests.messaging.conftest import PNG
from webhooks.models import WebhookEndpoint

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
METHODS = ("get", "post", "patch", "put", "delete")
# Well-formed values for a route's other parameters, so only the one under test is odd.
WELL_FORMED = {"handle": "+14155550100", "reaction_type": "love", "address": "+14155550100"}
PREFIXES = {
    "message_id": "msg",
    "chat_id": "chat",
    "attachment_id": "att",
    "webhook_id": "whk",
    "key_id": "key",
    "delivery_id": "dlv",
    "job_id": "job",
}
DEEP = "[" * 1000 + "]" * 1000  # 2 KB


def _routes(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    routes: list[tuple[str, Any]] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.append((route, pattern.callback))
    return routes


def _well_formed(name: str) -> str:
    return WELL_FORMED.get(name, PREFIXES.get(name, "obj") + "_" + "A" * 24)


def _nul_urls(route: str) -> list[tuple[str, str]]:
    """(parameter, url) for each parameter of `route`, that parameter holding a NUL."""
    names = PARAMETER.findall(route)
    urls = []
    for odd in names:
        values = {name: _well_formed(name) for name in names}
        values[odd] = values[odd].partition("_")[0] + "_%00"
        urls.append((odd, "/" + _fill(route, values)))
    return urls


def _fill(route: str, values: dict[str, str]) -> str:
    return PARAMETER.sub(lambda match: values[match.group(1)], route)


API_CASES = [
    pytest.param(url, method, id=f"{method.upper()} {route} [{odd}]")
    for route, view in _routes(get_resolver().url_patterns)
    if route.startswith(("v1/", "device/v1/")) and "<" in route
    for odd, url in _nul_urls(route)
    for method in METHODS
    if hasattr(view.view_class, method)
]
PAGE_CASES = [
    pytest.param(url, id=f"{route} [{odd}]")
    for route, _ in _routes(account_pages)
    if "<" in route
    for odd, url in _nul_urls(route)
]


def test_the_urlconf_has_the_by_id_routes_these_tests_walk():
    walked = " ".join(str(case.values[0]) for case in API_CASES)
    for fragment in (
        "/v1/messages/msg_%00",
        "/v1/chats/chat_%00",
        "/v1/attachments/att_%00",
        "/v1/webhooks/whk_%00",
        "/v1/api-keys/key_%00",
        "/v1/webhook-deliveries/dlv_%00/redeliver",
        "/device/v1/jobs/job_%00/result",
        "/device/v1/attachments/att_%00",
    ):
        assert fragment in walked
    assert PAGE_CASES


@pytest.mark.parametrize(("url", "method"), API_CASES)
def test_a_nul_in_any_path_parameter_is_a_404(url, method, alice, alice_device):
    client = alice_device.client if url.startswith("/device/") else alice.client
    response = getattr(client, method)(url, {}, format="json")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("url", PAGE_CASES)
def test_a_nul_in_any_dashboard_path_parameter_is_a_404_page(url, alice):
    owner = signed_in(alice.account, "owner")
    response = owner.get(f"/dashboard/{alice.account.pk}/{url.lstrip('/')}")
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["msg_%00", "msg_a%20b", "msg_" + "A" * 60, "x"])
def test_a_message_id_that_cannot_be_one_of_ours_is_a_404(alice, value):
    assert_error(alice.client.get(f"/v1/messages/{value}"), 404, "not_found")


def _cursor(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chats", "/v1/webhooks", "/v1/api-keys"])
def test_a_cursor_holding_a_nul_is_invalid_request_naming_cursor(alice, path):
    cursor = _cursor({"t": "2026-01-01T00:00:00+00:00", "id": "msg_\u0000"})
    body = assert_error(alice.client.get(f"{path}?cursor={cursor}"), 400, "invalid_request")
    assert list(body["fields"]) == ["cursor"]


def test_a_deeply_nested_cursor_is_invalid_request(alice):
    cursor = base64.urlsafe_b64encode(DEEP.encode()).decode()
    assert_error(alice.client.get(f"/v1/chats?cursor={cursor}"), 400, "invalid_request")


def test_a_nul_in_a_query_parameter_is_invalid_request_naming_it(alice):
    body = assert_error(alice.client.get("/v1/messages?status=sent%00"), 400, "invalid_request")
    assert list(body["fields"]) == ["status"]


def test_a_nul_in_a_metadata_key_is_invalid_request_and_nothing_is_sent(alice, alice_device):
    body = '{"to": "+14155550100", "text": "hi", "metadata": {"a\\u0000": "x"}}'
    response = alice.client.post("/v1/messages", data=body, content_type="application/json")
    problem = assert_error(response, 400, "invalid_request")
    assert list(problem["fields"]) == ["metadata"]
    assert not Message.objects.exists()


def test_a_nul_in_a_metadata_value_names_its_key(alice, alice_device):
    body = '{"to": "+14155550100", "text": "hi", "metadata": {"order": "a\\u0000"}}'
    response = alice.client.post("/v1/messages", data=body, content_type="application/json")
    assert assert_error(response, 400, "invalid_request")["fields"].keys() == {"metadata.order"}


def test_an_unpaired_surrogate_is_invalid_request_naming_the_field(alice):
    response = alice.client.post(
        "/v1/api-keys", data='{"name": "\\ud800"}', content_type="application/json"
    )
    assert assert_error(response, 400, "invalid_request")["fields"].keys() == {"name"}
    assert ApiKey.objects.filter(account=alice.account).count() == 1


@pytest.mark.parametrize("field", ["text", "upstream_id"])
def test_a_device_event_with_a_nul_is_invalid_request_and_nothing_is_recorded(alice_device, field):
    data = {"from": "+14155550100", "text": "hi", "upstream_id": "up-1", field: "a\u0000b"}
    response = alice_device.client.post(
        "/device/v1/events",
        {"events": [{"id": "e1", "type": "message.received", "data": data}]},
        format="json",
    )
    body = assert_error(response, 400, "invalid_request")
    assert list(body["fields"]) == [f"events.0.data.{field}"]
    assert not DeviceEvent.objects.exists()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("participants", 5), ("attachments", True), ("upstream_id", "u" * 201), ("chat_id", [1])],
)
def test_a_device_event_field_of_the_wrong_type_is_invalid_request(alice_device, field, value):
    data = {"from": "+14155550100", "text": "hi", field: value}
    response = alice_device.client.post(
        "/device/v1/events",
        {"events": [{"id": "e1", "type": "message.received", "data": data}]},
        format="json",
    )
    assert assert_error(response, 400, "invalid_request")["fields"].keys() == {f"data.{field}"}
    assert not Message.objects.exists()


# --- deep JSON -------------------------------------------------------------------------


def test_a_thousand_nested_arrays_are_invalid_request_with_an_api_key(alice):
    response = alice.client.post("/v1/api-keys", data=DEEP, content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_a_thousand_nested_arrays_are_invalid_request_with_an_idempotency_key(alice):
    response = alice.client.post(
        "/v1/messages", data=DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert_error(response, 400, "invalid_request")


def test_a_thousand_nested_arrays_are_invalid_request_with_a_device_token(alice_device):
    response = alice_device.client.post(
        "/device/v1/events", data=DEEP, content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")


def test_nesting_deep_inside_a_valid_body_is_invalid_request(alice):
    body = '{"to": "+14155550100", "metadata": {"a": ' + DEEP + "}}"
    response = alice.client.post("/v1/messages", data=body, content_type="application/json")
    assert "deeper than 32" in assert_error(response, 400, "invalid_request")["message"]


def test_thirty_two_levels_of_nesting_are_parsed_and_thirty_three_are_not():
    assert loads_strict("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(InvalidRequest):
        loads_strict("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"text": "[" * 100 + '\\"{' * 100})
    assert loads_strict(text) == json.loads(text)


WRITE_CASES = [
    pytest.param(route, method, id=f"{method.upper()} {route}")
    for route, view in _routes(get_resolver().url_patterns)
    if route.startswith(("v1/", "device/v1/"))
    for method in ("post", "patch", "put")
    if hasattr(view.view_class, method)
]


@pytest.mark.parametrize(("route", "method"), WRITE_CASES)
def test_no_json_endpoint_answers_deep_json_with_a_server_error(alice, alice_device, route, method):
    url = "/" + _fill(route, {name: _well_formed(name) for name in PARAMETER.findall(route)})
    client = alice_device.client if route.startswith("device/") else alice.client
    response = getattr(client, method)(url, data=DEEP, content_type="application/json")
    # 400 when the view reads its body; 404 when it first looks up the (missing) object;
    # 405 for a method the path does not take; 415 for the upload paths. Never a 5xx.
    assert response.status_code in {400, 404, 405, 415}, response.content
    assert_error(response, response.status_code, response.json()["error"])


# --- strict types ------------------------------------------------------------------------


MESSAGE = {"to": "+14155550100", "text": "hi"}
WEBHOOK = {"url": "https://example.com/h", "events": ["*"]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/api-keys", {"name": 0}, "name"),
        ("/v1/messages", {**MESSAGE, "fallback": "yes"}, "fallback"),
        ("/v1/messages", {**MESSAGE, "metadata": {"a": 1}}, "metadata.a"),
        ("/v1/messages", {**MESSAGE, "send_at": 5}, "send_at"),
        ("/v1/messages", {**MESSAGE, "attachments": [7]}, "attachments.0"),
        ("/v1/messages", {**MESSAGE, "channel": 1}, "channel"),
        ("/v1/messages", {**MESSAGE, "metadata": []}, "metadata"),
        ("/v1/messages", {**MESSAGE, "text": 5}, "text"),
        ("/v1/webhooks", {**WEBHOOK, "enabled": 1}, "enabled"),
        ("/v1/chats", {"participants": "+14155550100"}, "participants"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_invalid_request_naming_the_field(
    alice, alice_device, path, body, field
):
    response = alice.client.post(path, body, format="json")
    problem = assert_error(response, 400, "invalid_request")
    assert list(problem["fields"]) == [field]
    assert not Message.objects.exists()
    assert not WebhookEndpoint.objects.exists()
    assert ApiKey.objects.filter(account=alice.account).count() == 1


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_a_number_json_cannot_carry_is_invalid_request(alice, number):
    response = alice.client.post(
        "/v1/api-keys", data=f'{{"name": {number}}}', content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")
    assert ApiKey.objects.filter(account=alice.account).count() == 1


def test_the_same_key_twice_in_one_object_is_invalid_request(alice):
    response = alice.client.post(
        "/v1/api-keys", data='{"name": "a", "name": "b"}', content_type="application/json"
    )
    assert "twice" in assert_error(response, 400, "invalid_request")["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"whatsapp_connected": "yes"}, "whatsapp_connected"), ({"version": 2}, "version")],
)
def test_a_device_body_of_the_wrong_type_is_invalid_request(alice_device, body, field):
    response = alice_device.client.post("/device/v1/heartbeat", body, format="json")
    assert list(assert_error(response, 400, "invalid_request")["fields"]) == [field]


def test_query_parameters_are_still_read_from_their_text(alice_device):
    response = alice_device.client.get("/device/v1/jobs?wait=0&limit=5")
    assert response.status_code == 200, response.content


def test_two_files_in_one_upload_are_invalid_request_and_nothing_is_stored(alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile("a.png", PNG), SimpleUploadedFile("b.png", PNG)]
    response = alice.client.post("/v1/attachments", {"file": files}, format="multipart")
    assert list(assert_error(response, 400, "invalid_request")["fields"]) == ["file"]
    assert not Attachment.objects.exists()


# --- method before Idempotency-Key --------------------------------------------------------


def test_a_method_the_path_does_not_take_is_405_even_with_a_bad_idempotency_key(alice):
    response = alice.client.post("/v1/account", HTTP_IDEMPOTENCY_KEY="not a valid key")
    assert_error(response, 405, "method_not_allowed")


def test_a_bad_idempotency_key_on_an_allowed_method_is_still_invalid_request(alice):
    response = alice.client.post(
        "/v1/api-keys", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="not a valid key"
    )
    assert list(assert_error(response, 400, "invalid_request")["fields"]) == ["Idempotency-Key"]
