from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

UNDOCUMENTED = {"/v1/openapi.json", "/v1/docs"}


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


def test_the_document_is_valid_openapi(document):
    validate(document)


def test_the_document_lists_every_endpoint(document):
    assert _api_paths() <= set(document["paths"])


def test_every_operation_documents_the_error_shape(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "500"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method)
            assert (
                "X-Request-Id"
                in operation["responses"][
                    "200" if method == "get" else next(iter(operation["responses"]))
                ]["headers"]
            )


def test_authenticated_operations_declare_auth_rate_limits_and_429(document):
    operation = document["paths"]["/v1/account"]["get"]
    assert operation["security"] == [{"ApiKey": []}]
    assert {"401", "403", "429"} <= set(operation["responses"])
    assert "RateLimit" in operation["responses"]["200"]["headers"]
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_unsafe_operations_take_an_idempotency_key(document):
    operation = document["paths"]["/v1/api-keys"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])
    assert {"409", "413", "415", "422"} <= set(operation["responses"])


def test_device_endpoints_are_documented_under_their_own_tag_and_auth(document):
    device_paths = [path for path in document["paths"] if path.startswith("/device/v1/")]
    assert sorted(device_paths) == [
        "/device/v1/attachments",
        "/device/v1/attachments/{attachment_id}",
        "/device/v1/events",
        "/device/v1/heartbeat",
        "/device/v1/jobs",
        "/device/v1/jobs/{job_id}/result",
    ]
    for path in device_paths:
        for operation in document["paths"][path].values():
            assert operation["tags"] == ["device protocol"]
            assert operation["security"] == [{"DeviceToken": []}]
            assert "401" in operation["responses"]


def test_the_schema_generates_without_warnings(db):
    from io import StringIO

    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def test_the_docs_page_renders(anonymous, db):
    assert anonymous.get("/v1/docs").status_code == 200


SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")


def test_the_document_is_the_committed_snapshot_byte_for_byte(anonymous, db):
    """A change of the API contract shows up as a diff of the snapshot, reviewed on purpose.

    Regenerate it with `make openapi-snapshot` when the change is meant.
    """
    response = anonymous.get("/v1/openapi.json")
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT"):
        SNAPSHOT.write_bytes(response.content)
    assert response.content == SNAPSHOT.read_bytes()
