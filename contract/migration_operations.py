"""Migration operations that keep a deploy from blocking the API.

`AddIndexConcurrently` builds an index without taking the write lock a plain `CREATE INDEX`
holds for the whole build: on a table of millions of messages that is minutes of sends
waiting. PostgreSQL only (`CREATE INDEX CONCURRENTLY`, outside a transaction: a migration
using it sets `atomic = False`); on the embedded SQLite it is a plain `AddIndex`. If a
concurrent build fails, PostgreSQL leaves an INVALID index behind: drop it and migrate again
(docs/operations.md, "Deploying on several hosts").
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
