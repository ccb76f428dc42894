"""A handle moved to another account takes none of the old account's work with it."""

from __future__ import annotations

import pytest

from contract.errors import DomainError
from handles import services as handle_services
from handles.models import Handle
from tests.conftest import assert_error, send
from tests.messaging.conftest import device_takes_jobs, dispatch


def test_messages_waiting_on_a_moved_handle_fail_instead_of_going_out(alice, online, charlie):
    message = send(alice, to="+14155550199", text="alice's words")
    handle_services.handle_assign(account=charlie.account, address="+14155550123", move=True)
    dispatch(online.handle)
    assert device_takes_jobs(online) == []
    data = alice.client.get(f"/v1/messages/{message['id']}").json()["data"]
    assert data["status"] == "failed"
    assert data["error"]["code"] == "handle_unassigned"
    response = alice.client.post(f"/v1/messages/{message['id']}/retry")
    assert_error(response, 400, "invalid_from_handle")


def test_assigning_another_accounts_handle_needs_an_explicit_move(alice, online, charlie):
    with pytest.raises(DomainError):
        handle_services.handle_assign(account=charlie.account, address="+14155550123")
    assert Handle.objects.get(address="+14155550123").account_id == alice.account.id
