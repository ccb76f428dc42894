from __future__ import annotations

import pytest

from config.celery import app as celery_app
from tests.conftest import assert_error


def test_readyz_answers_ready_when_database_and_broker_answer(anonymous, db):
    response = anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ready"}


@pytest.fixture
def broker_down(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")


def test_readyz_is_unavailable_when_the_broker_is_down(anonymous, db, broker_down):
    body = assert_error(anonymous.get("/readyz"), 503, "unavailable")
    assert "broker" in body["message"]


def test_healthz_needs_no_database(anonymous):
    assert anonymous.get("/healthz").status_code == 200
