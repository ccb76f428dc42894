"""Every status the API can answer has the seed's shape and the request id of the header."""

from __future__ import annotations

import importlib
import json
import re

import pytest
from django.test import override_settings

from accounts import services
from config.logging import JsonFormatter
from tests.conftest import assert_error


def test_unknown_query_parameter_is_invalid_request_naming_it(alice):
    body = assert_error(alice.client.get("/v1/account?expand=all"), 400, "invalid_request")
    assert body["fields"] == {"expand": ["This query parameter is not allowed."]}


def test_unknown_body_field_is_invalid_request_naming_it(alice):
    response = alice.client.post("/v1/api-keys", {"name": "ci", "scope": "all"}, format="json")
    body = assert_error(response, 400, "invalid_request")
    assert body["fields"] == {"scope": ["This field is not allowed."]}
    assert "scope" in body["message"]


def test_invalid_field_value_names_the_field(alice):
    response = alice.client.post("/v1/api-keys", {"name": "x" * 201}, format="json")
    body = assert_error(response, 400, "invalid_request")
    assert list(body["fields"]) == ["name"]


def test_malformed_json_is_invalid_request(alice):
    response = alice.client.post("/v1/api-keys", data='{"name": ', content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_a_json_array_body_is_invalid_request(alice):
    response = alice.client.post("/v1/api-keys", data="[]", content_type="application/json")
    assert_error(response, 400, "invalid_request")


def test_missing_api_key_is_unauthorized_with_www_authenticate(anonymous, db):
    response = anonymous.get("/v1/account")
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token sk_live_abc", "Bearer sk_live_unknown"],
)
def test_malformed_or_unknown_api_key_is_unauthorized(anonymous, db, header):
    response = anonymous.get("/v1/account", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_inactive_account_is_forbidden(alice):
    services.account_set_active(account=alice.account, active=False)
    assert_error(alice.client.get("/v1/account"), 403, "forbidden")


def test_unknown_api_path_is_not_found(alice):
    assert_error(alice.client.get("/v1/no-such-thing"), 404, "not_found")


def test_unknown_path_outside_the_api_is_not_found_json(anonymous, db):
    assert_error(anonymous.get("/no-such-page"), 404, "not_found")


def test_method_not_allowed(alice):
    assert_error(alice.client.put("/v1/account", {}, format="json"), 405, "method_not_allowed")


def test_body_over_one_mebibyte_is_payload_too_large(alice):
    payload = json.dumps({"name": "x" * (1024 * 1024)})
    response = alice.client.post("/v1/api-keys", data=payload, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_wrong_content_type_is_415_invalid_request(alice):
    response = alice.client.post("/v1/api-keys", data="name=ci", content_type="text/plain")
    assert_error(response, 415, "invalid_request")


def test_unexpected_error_is_internal_error_without_detail(alice, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(services, "api_key_create", explode)
    response = alice.client.post("/v1/api-keys", {"name": "x"}, format="json")
    body = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    (failure,) = [record for record in caplog.records if record.exc_info]
    assert failure.request_id == body["request_id"]
    line = json.loads(JsonFormatter().format(failure))
    assert line["request_id"] == body["request_id"]
    assert "RuntimeError: database password is hunter2" in line["traceback"]


def test_cache_down_answers_unavailable(alice):
    closed_port = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=closed_port):
        response = alice.client.get("/v1/account")
    assert_error(response, 503, "unavailable")


def test_error_codes_are_all_in_the_docs():
    from contract.errors import CATALOG

    with open("docs/errors.md") as docs:
        text = docs.read()
    missing = [code for code in CATALOG if not re.search(rf"`{code}`", text)]
    assert missing == []


def test_every_code_is_raised_by_exactly_one_domain_error_class():
    from contract.errors import CATALOG, DomainError

    for app in ("accounts", "webhooks", "handles", "messaging"):
        importlib.import_module(f"{app}.errors")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    codes = [cls.code for cls in subclasses(DomainError) if "code" in vars(cls)]
    assert sorted(codes) == sorted(CATALOG)
