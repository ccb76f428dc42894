"""Reserved for opt-outs (issue 14): fill in its operations; keep its name and place."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_message_held_index"),
    ]

    operations: list[migrations.operations.base.Operation] = []
