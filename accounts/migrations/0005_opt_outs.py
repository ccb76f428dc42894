"""Reserved for opt-outs (issue 14): fill in its operations; keep its name and place."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_compliance_settings"),
    ]

    operations: list[migrations.operations.base.Operation] = []
