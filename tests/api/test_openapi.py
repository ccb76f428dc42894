"""The OpenAPI document says what the API does, in terms a generated client can trust."""

from __future__ import annotations

import inspect
import os
import pkgutil
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

UNDOCUMENTED = {"/v1/openapi.json", "/v1/docs"}
SYNCHRONOUS = {
    ("/v1/messages/{message_id}", "patch"),
    ("/v1/messages/{message_id}/reactions", "post"),
    ("/v1/messages/{message_id}/reactions/{reaction_type}", "delete"),
    ("/v1/messages/{message_id}/unsend", "post"),
    ("/v1/chats", "post"),
    ("/v1/chats/{chat_id}", "patch"),
    ("/v1/chats/{chat_id}/participants", "post"),
    ("/v1/chats/{chat_id}/participants/{handle}", "delete"),
    ("/v1/chats/{chat_id}/typing", "post"),
    ("/v1/chats/{chat_id}/read", "post"),
}


def _api_paths() -> set[str]:
    found: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not route.startswith(("admin/", "dashboard/")):
                found.add("/" + route.replace("<str:", "{").replace(">", "}"))

    walk(get_resolver().url_patterns, "")
    return found - UNDOCUMENTED


@pytest.fixture
def document(anonymous, db):
    response = anonymous.get("/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` points to in this document."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return resolve(document, target)


def test_the_document_is_valid_openapi(document):
    validate(document)


def test_the_document_lists_every_endpoint(document):
    assert _api_paths() <= set(document["paths"])


def test_every_error_response_is_the_error_shape_and_a_shared_component(document):
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert response["$ref"].startswith("#/components/responses/"), (path, method, status)
            schema = resolve(document, response)["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
        assert {"400", "500"} <= set(operation["responses"]), (path, method)


def test_every_response_declares_the_request_id_header_as_a_shared_component(document):
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            headers = resolve(document, response)["headers"]
            assert headers["X-Request-Id"] == {"$ref": "#/components/headers/XRequestId"}, (
                path,
                method,
                status,
            )
    assert document["components"]["headers"]["XRequestId"]["required"] is True


def test_authenticated_operations_declare_auth_rate_limits_and_429(document):
    operation = document["paths"]["/v1/account"]["get"]
    assert operation["security"] == [{"ApiKey": []}]
    assert {"401", "403", "429"} <= set(operation["responses"])
    assert "RateLimit" in operation["responses"]["200"]["headers"]
    assert "Retry-After" in resolve(document, operation["responses"]["429"])["headers"]
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_unsafe_operations_take_a_bounded_idempotency_key(document):
    operation = document["paths"]["/v1/api-keys"]["post"]
    parameters = [resolve(document, p) for p in operation["parameters"]]
    (key,) = [p for p in parameters if p["name"] == "Idempotency-Key"]
    assert key["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]+$",
    }
    assert {"409", "413", "415", "422"} <= set(operation["responses"])


def test_every_synchronous_device_action_declares_502_and_nothing_else_does(document):
    declaring = {
        (path, method)
        for path, method, operation in operations(document)
        if "502" in operation["responses"]
    }
    assert declaring == SYNCHRONOUS
    failed = resolve(document, {"$ref": "#/components/responses/BadGateway"})
    assert {"edit_failed", "reaction_failed", "group_update_failed"} <= set(
        failed["content"]["application/json"]["examples"]
    )


def test_attachment_content_is_declared_binary_not_json(document):
    for path in (
        "/v1/attachments/{attachment_id}/content",
        "/device/v1/attachments/{attachment_id}",
    ):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(content) == ["application/octet-stream", "*/*"]
        for media in content.values():
            assert media["schema"] == {"type": "string", "format": "binary"}


@pytest.mark.parametrize("component", ["ApiKeyCreatedOutput", "WebhookWithSecretOutput"])
def test_a_secret_is_nullable_because_a_replay_never_carries_it(document, component):
    assert document["components"]["schemas"][component]["properties"]["secret"]["nullable"]


def test_limit_is_an_integer_from_1_to_100_on_every_list(document):
    limits = [
        (path, resolve(document, p)["schema"])
        for path, method, operation in operations(document)
        for p in operation.get("parameters", [])
        if resolve(document, p)["name"] == "limit" and not path.startswith("/device/")
    ]
    assert len(limits) >= 7
    for path, schema in limits:
        assert schema["type"] == "integer", path
        assert (schema["minimum"], schema["maximum"]) == (1, 100), path


def test_webhook_events_are_a_non_empty_list_of_known_types(document):
    schemas = document["components"]["schemas"]
    for component in ("WebhookInputRequest", "WebhookUpdateInputRequest"):
        events = schemas[component]["properties"]["events"]
        assert events["minItems"] == 1
        items = events["items"]
        (enum,) = [resolve(document, part) for part in items.get("allOf", [items])]
        assert "message.sent" in enum["enum"]


def test_reaction_types_are_an_enum_in_the_body_and_the_path(document):
    schemas = document["components"]["schemas"]
    body = resolve(document, schemas["ReactionInputRequest"]["properties"]["type"])
    parameters = document["paths"]["/v1/messages/{message_id}/reactions/{reaction_type}"]["delete"][
        "parameters"
    ]
    (path,) = [p for p in parameters if p.get("name") == "reaction_type"]
    assert sorted(body["enum"]) == sorted(path["schema"]["enum"])
    assert "love" in body["enum"]


def test_every_request_body_refuses_unknown_fields(document):
    bodies = [
        operation["requestBody"]["content"]
        for _, _, operation in operations(document)
        if "requestBody" in operation
    ]
    assert len(bodies) >= 14
    for content in bodies:
        for media in content.values():
            schema = resolve(document, media["schema"])
            assert schema["additionalProperties"] is False, schema


def _our_docstrings() -> set[str]:
    """The docstrings of our classes, their methods and our functions: for the code's readers."""
    found: set[str] = set()

    def add(doc: str | None) -> None:
        if doc:
            found.add(inspect.cleandoc(doc))

    for package in ("accounts", "contract", "handles", "messaging", "webhooks", "config"):
        root = import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name or info.name.startswith("config.settings"):
                continue
            module = import_module(info.name)
            for _, member in inspect.getmembers(module):
                if not getattr(member, "__module__", "").startswith(package):
                    continue
                if inspect.isclass(member):
                    add(member.__dict__.get("__doc__"))
                    for attribute in member.__dict__.values():
                        if inspect.isfunction(attribute):
                            add(attribute.__doc__)
                elif inspect.isfunction(member):
                    add(member.__doc__)
    return found


def _descriptions(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield value
            else:
                yield from _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value)


def test_no_docstring_of_our_code_is_published(document):
    docstrings = _our_docstrings()
    assert "An API view. Subclasses name the query parameters they accept." in docstrings
    leaked = set(_descriptions(document)) & docstrings
    assert leaked == set()


def test_device_endpoints_are_documented_under_their_own_tag_and_auth(document):
    device_paths = [path for path in document["paths"] if path.startswith("/device/v1/")]
    assert sorted(device_paths) == [
        "/device/v1/attachments",
        "/device/v1/attachments/{attachment_id}",
        "/device/v1/events",
        "/device/v1/heartbeat",
        "/device/v1/jobs",
        "/device/v1/jobs/results",
        "/device/v1/jobs/{job_id}/result",
    ]
    for path in device_paths:
        for operation in document["paths"][path].values():
            assert operation["tags"] == ["device protocol"]
            assert operation["security"] == [{"DeviceToken": []}]
            assert "401" in operation["responses"]


def test_only_api_writes_take_an_idempotency_key_devices_deduplicate_by_their_own_ids(document):
    for path, method, operation in operations(document):
        takes_key = any(
            resolve(document, p)["name"] == "Idempotency-Key"
            for p in operation.get("parameters", [])
        )
        api_write = path.startswith("/v1/") and method in {"post", "patch", "delete"}
        assert takes_key == api_write, (path, method)
        assert ("422" in operation["responses"]) == api_write, (path, method)


def test_the_schema_generates_without_warnings(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")


def test_the_document_is_the_committed_snapshot_byte_for_byte(anonymous, db):
    """A change of the API contract shows up as a diff of the snapshot, reviewed on purpose.

    Regenerate it with `make openapi-snapshot` when the change is meant.
    """
    response = anonymous.get("/v1/openapi.json")
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT"):
        SNAPSHOT.write_bytes(response.content)
    assert response.content == SNAPSHOT.read_bytes()
