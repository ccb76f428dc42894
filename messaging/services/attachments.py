"""Attachments: uploads streamed to storage, typed from their bytes, sent exactly once."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Case, Value, When
from django.utils import timezone

from accounts.models import Account
from messaging.errors import InvalidAttachments
from messaging.models import Attachment, Message

SNIFF_BYTES = 8192
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe")


def max_upload_bytes() -> int:
    return int(settings.SWITCHBOARD_ATTACHMENT_MAX_BYTES)


def sniff_content_type(head: bytes) -> str:
    """The type the bytes say they are; the name and the client's word are not trusted."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    lowered = head.lstrip()[:1024].lower()
    if any(marker in lowered for marker in _HTML_MARKERS):
        return "text/html"
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<svg"):
        return "image/svg+xml" if b"<svg" in lowered else "application/xml"
    if lowered.startswith(b"%pdf"):
        return "application/pdf"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def attachment_create(*, account: Account, upload: UploadedFile) -> Attachment:
    """Store an upload (streamed in chunks, never whole in memory) with its type and sha256."""
    digest = hashlib.sha256()
    head = b""
    upload.seek(0)
    for chunk in upload.chunks():
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
    upload.seek(0)
    name = (upload.name or "file").rsplit("/", 1)[-1][:255]
    attachment = Attachment(
        account=account,
        filename=name,
        content_type=sniff_content_type(head),
        size=upload.size or 0,
        sha256=digest.hexdigest(),
    )
    attachment.file.save(attachment.id, upload, save=False)
    attachment.save()
    return attachment


def attachments_claim(*, account: Account, message: Message, ids: list[str]) -> None:
    """Attach unused uploads of `account` to `message`, in the order given; 400
    `invalid_attachments` otherwise.

    The claim is one conditional UPDATE: of two messages racing for one attachment, the
    second waits for the first's row lock, then finds it used, and fails.
    """
    wanted = list(dict.fromkeys(ids))
    claimed = Attachment.objects.filter(
        pk__in=wanted, account=account, message__isnull=True
    ).update(
        message=message,
        position=Case(*(When(pk=pk, then=Value(index)) for index, pk in enumerate(wanted))),
    )
    if claimed != len(wanted):
        raise InvalidAttachments(
            "An attachment is unknown, not yours, or already used by another message.",
            fields={"attachments": ["Unknown or already used."]},
        )


def attachments_purge_unused(*, older_than: timedelta) -> int:
    """Delete uploads never sent, with their files; return how many went."""
    stale = Attachment.objects.filter(
        message__isnull=True, created_at__lt=timezone.now() - older_than
    )
    count = 0
    for attachment in stale.iterator():
        # Still unused right now? (It may have been sent since the query above.)
        if Attachment.objects.filter(pk=attachment.pk, message__isnull=True).delete()[0]:
            attachment.file.delete(save=False)
            count += 1
    return count
