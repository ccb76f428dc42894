"""The handles pages of the dashboard: read-only, an account's own handles, bounded cost."""

from __future__ import annotations

import pytest
from django.utils import timezone

from handles import services
from handles.models import Handle, HandleStatusChange
from tests.conftest import signed_in


@pytest.fixture
def owner(alice):
    return signed_in(alice.account, "owner")


def test_the_handles_page_shows_status_pacing_and_queue(alice, owner):
    services.handle_assign(account=alice.account, address="+14155550123", per_minute=30, burst=3)
    page = owner.get(f"/dashboard/{alice.account.pk}/handles/").content.decode()
    assert "+14155550123" in page
    assert "30/min, bursts of 3" in page
    assert "offline" in page


def test_a_handle_page_shows_its_status_history(alice, owner):
    handle = services.handle_assign(account=alice.account, address="+14155550123")
    HandleStatusChange.objects.create(handle=handle, status="online", at=timezone.now())
    page = owner.get(f"/dashboard/{alice.account.pk}/handles/+14155550123/").content.decode()
    assert "Status history" in page
    assert "<strong>online</strong>" in page


def test_another_accounts_handle_is_a_404(alice, charlie, owner):
    services.handle_assign(account=charlie.account, address="+14155550177")
    assert owner.get(f"/dashboard/{alice.account.pk}/handles/+14155550177/").status_code == 404


def test_the_handles_pages_are_a_fixed_number_of_queries(
    alice, owner, django_assert_max_num_queries
):
    for n in range(200):
        services.handle_assign(account=alice.account, address=f"+1415555{2000 + n}")
    handle = Handle.objects.filter(account=alice.account).first()
    assert handle is not None
    HandleStatusChange.objects.bulk_create(
        HandleStatusChange(handle=handle, status="online", at=timezone.now()) for _ in range(200)
    )
    # 11: one more since the list shows each handle's new-contact budget (one read for all).
    with django_assert_max_num_queries(11):
        assert owner.get(f"/dashboard/{alice.account.pk}/handles/").status_code == 200
    with django_assert_max_num_queries(12):
        url = f"/dashboard/{alice.account.pk}/handles/{handle.address}/"
        assert owner.get(url).status_code == 200
