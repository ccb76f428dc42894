"""Members are owners, developers or viewers; the one other role there was, "member", could
do what a developer does now."""

from django.db import migrations, models


def members_become_developers(apps, schema_editor):
    apps.get_model("accounts", "Membership").objects.filter(role="member").update(role="developer")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[("owner", "Owner"), ("developer", "Developer"), ("viewer", "Viewer")],
                default="viewer",
                max_length=16,
            ),
        ),
        migrations.RunPython(members_become_developers, migrations.RunPython.noop),
    ]
