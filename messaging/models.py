"""Chats, messages and the append-only history of every message's status."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Account
from contract.ids import new_id
from handles.models import Channel, Handle, Job


def new_chat_id() -> str:
    return new_id("chat")


def new_message_id() -> str:
    return new_id("msg")


class Chat(models.Model):
    """A conversation between one of our handles and one (dm) or more (group) people."""

    class Type(models.TextChoices):
        DM = "dm", "Direct message"
        GROUP = "group", "Group"

    id = models.CharField(primary_key=True, max_length=40, default=new_chat_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="chats")
    handle = models.ForeignKey(Handle, on_delete=models.PROTECT, related_name="chats")
    type = models.CharField(max_length=8, choices=Type.choices)
    participants = models.JSONField(help_text="The other people's handles, sorted.")
    participants_key = models.CharField(max_length=2048, editable=False)
    name = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    upstream_id = models.CharField(max_length=200, blank=True, help_text="The device's group id.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "handle", "participants_key"],
                condition=models.Q(type="dm"),
                name="chat_one_dm_per_pair",
            )
        ]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="chat_page"),
            models.Index(fields=["account", "participants_key"], name="chat_by_participants"),
            models.Index(fields=["account", "-last_message_at", "-id"], name="chat_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.type})"


class Message(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        RECEIVED = "received", "Received"

    id = models.CharField(primary_key=True, max_length=40, default=new_message_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="messages")
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    handle = models.ForeignKey(Handle, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    from_handle = models.CharField(max_length=254)
    to = models.JSONField(help_text="A handle, or a list of handles for a group.")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    requested_channel = models.CharField(max_length=10, default="auto")
    fallback = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices)
    text = models.TextField(blank=True)
    effect = models.CharField(max_length=32, blank=True)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    metadata = models.JSONField(default=dict)
    error_code = models.CharField(max_length=64, blank=True)
    # Why a `scheduled` message waits with no `send_at`: held for its handle's new-contact
    # budget or line health (docs/compliance.md); empty otherwise.
    status_reason = models.CharField(max_length=32, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    # NULL, not "", so that only real upstream ids are unique per handle.
    upstream_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    send_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Its place in the queue.")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    unsent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["handle", "upstream_id"],
                condition=models.Q(upstream_id__isnull=False),
                name="message_unique_upstream_id",
            )
        ]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="message_page"),
            models.Index(fields=["account", "chat", "-created_at", "-id"], name="message_by_chat"),
            models.Index(fields=["account", "status", "-created_at"], name="message_by_status"),
            models.Index(
                fields=["handle", "queued_at", "id"],
                condition=models.Q(status="queued"),
                name="message_queue",
            ),
            models.Index(
                fields=["send_at"], condition=models.Q(status="scheduled"), name="message_scheduled"
            ),
            # What waits for a handle's new-contact budget or health, oldest first.
            models.Index(
                fields=["handle", "created_at", "id"],
                condition=models.Q(status="scheduled", send_at__isnull=True),
                name="message_held",
            ),
            # A handle's last outcomes, newest first, for its line health
            # (messaging.services.line_health.signals.OUTCOME_STATUSES: keep them equal).
            models.Index(
                fields=["handle", "created_at", "id"],
                condition=models.Q(
                    direction="outbound", status__in=["sent", "delivered", "read", "failed"]
                ),
                name="message_outcome",
            ),
            # The operators' overview (monitoring.selectors): the last hour's failures, and
            # what is in `sending`, each read without touching the rest of the table.
            models.Index(
                fields=["failed_at"], condition=models.Q(status="failed"), name="message_failed"
            ),
            models.Index(
                fields=["job"], condition=models.Q(status="sending"), name="message_sending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class MessageStatusEvent(models.Model):
    """One transition of a message, when it happened and why. Never edited."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="history")
    status = models.CharField(max_length=10, choices=Message.Status.choices)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, help_text="api, dispatcher, device or sweeper.")
    detail = models.CharField(max_length=500, blank=True)
    applied = models.BooleanField(
        default=True, help_text="False when recorded but not applied (it would go backwards)."
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"


class HandleQueue(models.Model):
    """The pacing state of one sending handle: a token bucket, locked by its dispatcher."""

    handle = models.OneToOneField(Handle, on_delete=models.CASCADE, related_name="queue")
    tokens = models.FloatField(default=0)
    refilled_at = models.DateTimeField(default=timezone.now)
    next_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"queue of {self.handle_id}"


class MessageEdit(models.Model):
    """One edit of a message's text: what it said before and after."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits")
    previous_text = models.TextField()
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"edit of {self.message_id}"


class Reaction(models.Model):
    """A tapback on a message, by us (`from_handle` is our handle) or by someone in the chat."""

    class Type(models.TextChoices):
        LOVE = "love", "Love"
        LIKE = "like", "Like"
        DISLIKE = "dislike", "Dislike"
        LAUGH = "laugh", "Laugh"
        EMPHASIZE = "emphasize", "Emphasize"
        QUESTION = "question", "Question"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    type = models.CharField(max_length=10, choices=Type.choices)
    from_handle = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "from_handle", "type"], name="reaction_once_per_person"
            )
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} on {self.message_id}"


def new_attachment_id() -> str:
    return new_id("att")


def attachment_path(attachment: Attachment, filename: str) -> str:
    return f"attachments/{attachment.account_id}/{attachment.id}"


class Attachment(models.Model):
    """An uploaded file: sent once with one message, or received with an inbound one.

    This row is the one record of which message carries it (and where among its
    attachments); an attachment with no message is unused.
    """

    id = models.CharField(
        primary_key=True, max_length=40, default=new_attachment_id, editable=False
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, help_text="Sniffed from the bytes.")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Its place among the message's attachments, as the sender gave them."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(message__isnull=True),
                name="attachment_unused",
            )
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"


class DailyCount(models.Model):
    """How many of a handle's messages reached each outcome on one day (UTC): the
    dashboard's overview reads a few of these rows instead of counting messages.

    Kept in the transaction of each status change (messaging.services.stats).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0, help_text="Delivered or read.")
    read = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "handle", "day"], name="daily_count_once")
        ]
        indexes = [models.Index(fields=["account", "day"], name="daily_count_by_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.handle_id} {self.day}"


class OptOut(models.Model):
    """A recipient who asked this account to stop messaging them: no handle of the account
    sends to them until they opt back in (docs/compliance.md). Deleted on opt-in."""

    class Source(models.TextChoices):
        KEYWORD = "keyword", "Keyword"  # they replied STOP (or another stop word)
        API = "api", "API"  # the account said so, through the API or its dashboard
        OPERATOR = "operator", "Operator"  # an operator said so, in admin

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="opt_outs")
    recipient = models.CharField(max_length=254, help_text="Normalized handle.")
    source = models.CharField(max_length=10, choices=Source.choices)
    reason = models.CharField(max_length=500, blank=True)
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The inbound message that said it.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "recipient"], name="opt_out_once")
        ]
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="opt_out_page")]

    def __str__(self) -> str:
        return f"{self.recipient} out of {self.account_id}"


class HandleContact(models.Model):
    """Someone a handle has been in a conversation with: known, so not a new contact.

    `budget_used_at` is when messaging them first took a slot of the handle's new-contact
    budget (NULL when they wrote first, or they were known before budgets existed).
    """

    handle = models.ForeignKey(Handle, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    budget_used_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(
        null=True, blank=True, help_text="Their first message after we first wrote."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["handle", "address"], name="handle_contact_once")
        ]
        indexes = [
            models.Index(
                fields=["handle", "budget_used_at"],
                condition=models.Q(budget_used_at__isnull=False),
                name="handle_contact_budget",
            )
        ]

    def __str__(self) -> str:
        return f"{self.address} of {self.handle_id}"
