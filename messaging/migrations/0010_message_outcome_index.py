"""Line health (issue 14): the index its judgement reads a handle's last outcomes through."""

from django.db import migrations, models

from contract.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: a deploy does not block sends while it builds.
    atomic = False

    dependencies = [
        ("messaging", "0009_handle_contacts_backfill"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(
                    ("direction", "outbound"),
                    ("status__in", ["sent", "delivered", "read", "failed"]),
                ),
                fields=["handle", "created_at", "id"],
                name="message_outcome",
            ),
        ),
    ]
