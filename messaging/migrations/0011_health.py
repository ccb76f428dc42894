"""Reserved for line health (issue 14): fill in its operations; keep its name and place."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0010_budgets"),
    ]

    operations: list[migrations.operations.base.Operation] = []
