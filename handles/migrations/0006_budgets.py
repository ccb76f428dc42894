"""Reserved for new-contact budgets (issue 14): fill in its operations; keep its name and place."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("handles", "0005_compliance"),
    ]

    operations: list[migrations.operations.base.Operation] = []
