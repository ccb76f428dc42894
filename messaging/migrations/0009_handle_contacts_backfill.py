"""New-contact budgets (issue 14): everyone a handle already has a chat with is known to it.

Backfill of `HandleContact` from the chats, set-based: one INSERT … SELECT per slice of
handles on PostgreSQL (a big table is read once, in short transactions), with
`budget_used_at` NULL: they were known before budgets existed, so they take no slot.
Run again, it adds nothing (ON CONFLICT DO NOTHING).
"""

from typing import Any

from django.db import migrations

# Handles per statement: each is its own short transaction (the migration is not atomic).
SLICE = 500

BACKFILL = """
INSERT INTO messaging_handlecontact (handle_id, address, created_at, budget_used_at, replied_at)
SELECT c.handle_id, p.address, min(c.created_at), NULL, NULL
FROM messaging_chat c
CROSS JOIN LATERAL jsonb_array_elements_text(c.participants) AS p(address)
JOIN handles_handle h ON h.id = c.handle_id
WHERE c.handle_id >= %s AND c.handle_id < %s AND p.address <> h.address
GROUP BY c.handle_id, p.address
ON CONFLICT (handle_id, address) DO NOTHING
"""


def backfill(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    Chat = apps.get_model("messaging", "Chat")
    Handle = apps.get_model("handles", "Handle")
    HandleContact = apps.get_model("messaging", "HandleContact")
    if connection.vendor == "postgresql":
        last = Handle.objects.order_by("-id").values_list("id", flat=True).first()
        if last is None:
            return
        with connection.cursor() as cursor:
            for start in range(0, last + 1, SLICE):
                cursor.execute(BACKFILL, [start, start + SLICE])
        return
    # The embedded mode (SQLite): small by nature.
    seen: dict[tuple[int, str], Any] = {}
    for chat in Chat.objects.select_related("handle").order_by("created_at").iterator():
        for address in chat.participants or []:
            if address != chat.handle.address:
                seen.setdefault((chat.handle_id, str(address)), chat.created_at)
    HandleContact.objects.bulk_create(
        [
            HandleContact(handle_id=handle_id, address=address, created_at=created_at)
            for (handle_id, address), created_at in seen.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


class Migration(migrations.Migration):
    # Each slice commits on its own: no long transaction over the chats table.
    atomic = False

    dependencies = [
        ("messaging", "0008_message_held_index"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
