from django.db import migrations, models

from contract.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: a deploy does not block sends while it builds.
    atomic = False

    dependencies = [
        ("messaging", "0007_compliance"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="message",
            index=models.Index(
                condition=models.Q(("send_at__isnull", True), ("status", "scheduled")),
                fields=["handle", "created_at", "id"],
                name="message_held",
            ),
        ),
    ]
