"""Reserved for new-contact budgets (issue 14): fill in its operations; keep its name and place."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0009_opt_outs"),
    ]

    operations: list[migrations.operations.base.Operation] = []
