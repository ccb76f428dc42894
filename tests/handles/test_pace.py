"""A handle's pace is at least one message a minute, enforced by the database too."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from handles import services as handle_services
from handles.models import Handle


def test_a_handle_cannot_be_paced_at_zero(alice):
    handle = handle_services.handle_assign(account=alice.account, address="+14155550123")
    with pytest.raises(IntegrityError):
        Handle.objects.filter(pk=handle.pk).update(per_minute=0)
