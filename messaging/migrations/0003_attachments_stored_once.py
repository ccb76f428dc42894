"""A message's attachments are stored once: on the Attachment rows (message + position).

The JSON copy on Message goes; its order is kept as each attachment's position first.
"""

import django.db.models.deletion
from django.db import migrations, models


def positions_from_json(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    Attachment = apps.get_model("messaging", "Attachment")
    with_attachments = Message.objects.exclude(attachments=[]).only("id", "attachments")
    for message in with_attachments.iterator():
        for position, summary in enumerate(message.attachments or []):
            Attachment.objects.filter(pk=summary.get("id"), message_id=message.pk).update(
                position=position
            )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_actions_and_media"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="position",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Its place among the message's attachments, as the sender gave them.",
            ),
        ),
        migrations.RunPython(positions_from_json, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="message",
            name="attachments",
        ),
        migrations.AlterField(
            model_name="attachment",
            name="message",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="attachments",
                to="messaging.message",
            ),
        ),
    ]
