"""The OpenAPI document is built once per process and served cheaply; ReDoc comes from us."""

from __future__ import annotations

import gzip

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator

from contract import schema

REDOC = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a process that has not served the document yet; counts the generator's runs."""
    monkeypatch.setattr(schema, "_document", None)
    runs: list[int] = []
    generate = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        runs.append(1)
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    return runs


def test_the_document_is_generated_once_per_process(anonymous, db, fresh_process):
    first = anonymous.get("/v1/openapi.json")
    second = anonymous.get("/v1/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len(fresh_process) == 1


def test_the_document_is_under_300_kb(anonymous, db):
    assert len(anonymous.get("/v1/openapi.json").content) < 300 * 1024


def test_the_document_has_an_etag_and_may_be_cached(anonymous, db):
    response = anonymous.get("/v1/openapi.json")
    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-Id"].startswith("req_")


def test_a_client_with_the_current_etag_gets_304_without_a_body(anonymous, db):
    etag = anonymous.get("/v1/openapi.json")["ETag"]
    response = anonymous.get("/v1/openapi.json", HTTP_IF_NONE_MATCH=f'"stale", W/{etag}')
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_a_client_with_a_stale_etag_gets_the_document(anonymous, db):
    response = anonymous.get("/v1/openapi.json", HTTP_IF_NONE_MATCH='"stale"')
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_a_client_accepting_gzip_gets_the_same_document_compressed(anonymous, db):
    plain = anonymous.get("/v1/openapi.json")
    packed = anonymous.get("/v1/openapi.json", HTTP_ACCEPT_ENCODING="gzip, br")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert packed["ETag"] != plain["ETag"]
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 5


def test_the_document_is_json_whatever_the_client_accepts(anonymous, db):
    response = anonymous.get("/v1/openapi.json", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Switchboard API"


def test_the_docs_page_loads_redoc_from_our_static_files(anonymous, db):
    response = anonymous.get("/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/static/{REDOC}" in page
    assert "https://" not in page
    assert "<style" not in page
    assert "<script>" not in page
    assert finders.find(REDOC)


def test_the_docs_page_runs_under_the_sites_csp_with_only_what_redoc_needs(anonymous, db):
    policy = {
        directive.split()[0]: directive.split()[1:]
        for directive in anonymous.get("/v1/docs")["Content-Security-Policy"].split("; ")
    }
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["blob:"]
    assert policy["frame-ancestors"] == ["'none'"]
