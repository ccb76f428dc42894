"""Another account's object is a 404 on every endpoint that names one, never a 403."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey
from tests.conftest import assert_error


@pytest.fixture
def charlies_key_id(charlie) -> str:
    return ApiKey.objects.get(account=charlie.account).id


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/v1/api-keys/{key_id}"), ("delete", "/v1/api-keys/{key_id}")],
)
def test_another_accounts_api_key_is_not_found(alice, charlies_key_id, method, path):
    response = getattr(alice.client, method)(path.format(key_id=charlies_key_id))
    missing = getattr(alice.client, method)(path.format(key_id="key_doesnotexist"))
    assert_error(response, 404, "not_found")
    assert response.json()["message"] == missing.json()["message"]
    assert ApiKey.objects.get(pk=charlies_key_id).revoked_at is None
