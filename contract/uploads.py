"""Uploads: a size limit enforced while the body streams, and each file's sha256 on the way.

The digests let an upload be compared with a retry of it (Idempotency-Key) without reading
the file again or holding it in memory.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from contract.errors import PayloadTooLarge


class LimitedHashingUploadHandler(FileUploadHandler):
    """Refuse an upload past `limit` bytes (even without a Content-Length); hash each file."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.digest = hashlib.sha256()
        request.upload_digests = {}  # type: ignore[attr-defined]

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise PayloadTooLarge(f"An upload is at most {self.limit} bytes.")
        self.digest.update(raw_data)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        digests: dict[str, str] = self.request.upload_digests  # type: ignore[union-attr]
        digests[f"{self.field_name}:{self.file_name}"] = self.digest.hexdigest()


def install_upload_handler(request: HttpRequest, limit: int) -> None:
    """Put the limiting, hashing handler first; before anything reads the body."""
    request.upload_handlers = [
        LimitedHashingUploadHandler(request, limit),
        *request.upload_handlers,
    ]
