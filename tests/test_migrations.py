"""Migrations a deploy runs against live tables: indexes on the big tables do not block writes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.parametrize(
    ("app", "migration", "index"),
    [
        ("messaging", "0006", "message_failed"),
        ("messaging", "0006", "message_sending"),
        ("messaging", "0008", "message_held"),
        ("messaging", "0010", "message_outcome"),
        ("webhooks", "0006", "webhook_troubled"),
    ],
)
def test_the_overview_indexes_are_built_concurrently(transactional_db, app, migration, index):
    out = StringIO()
    call_command("sqlmigrate", app, migration, stdout=out)
    assert f'CREATE INDEX CONCURRENTLY "{index}"' in out.getvalue()
