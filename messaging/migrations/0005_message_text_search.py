"""A trigram index for the dashboard's text search (`text__icontains`, i.e. UPPER(text) LIKE).

PostgreSQL only (the embedded SQLite mode searches without it). Built CONCURRENTLY, so a
deploy does not block sends while it builds. pg_trgm is a trusted extension (PostgreSQL 13+):
the database's owner may create it; where that is refused the index is skipped with a
warning and search still works, by scanning (docs/operations.md).
"""

import logging

from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError:
            logger.warning("pg_trgm cannot be created here: message search will scan")
            return
        cursor.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS message_text_trgm "
            "ON messaging_message USING gin (UPPER(text) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS message_text_trgm")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0004_dashboard"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
