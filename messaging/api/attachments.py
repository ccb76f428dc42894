"""Uploading and fetching attachments, for API clients and for devices."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import AccountApiView
from accounts.auth import request_account
from accounts.models import Account
from contract.envelope import created, envelope, ok
from contract.errors import Forbidden, InvalidRequest
from contract.limits import LARGE_BODY_PATHS
from contract.serializers import StrictInput
from contract.views import ApiView
from handles.device.auth import request_device
from handles.device.views import DeviceView
from messaging import selectors
from messaging.api.outputs import AttachmentDetailOutput, AttachmentOutput
from messaging.models import Attachment
from messaging.services.attachments import attachment_create, max_upload_bytes

# Multipart framing on top of the file itself.
_MULTIPART_OVERHEAD = 64 * 1024
LARGE_BODY_PATHS.append(
    (re.compile(r"^/(device/)?v1/attachments$"), max_upload_bytes() + _MULTIPART_OVERHEAD)
)


class AttachmentUpload(StrictInput):
    """The multipart body of an upload, for the document: `_uploaded_file` reads it."""

    file = serializers.FileField(help_text="The file, up to 100 MiB.")


# The bytes as they were uploaded, with the type sniffed from them: any type, never JSON
# to decode. `application/octet-stream` first, for generated clients that pick the first.
BINARY_CONTENT = OpenApiResponse(
    {"type": "string", "format": "binary"}, description="The file, as a download."
)
BINARY_MEDIA_TYPES = ("application/octet-stream", "*/*")


def _uploaded_file(request: Request) -> UploadedFile:
    uploads = request.FILES.getlist("file")
    extra = sorted(set(request.data) - {"file"})
    if extra:
        raise InvalidRequest(
            f"Unknown field: {extra[0]}.",
            fields={name: ["This field is not allowed."] for name in extra},
        )
    if not uploads:
        raise InvalidRequest("file is required.", fields={"file": ["Required."]})
    if len(uploads) > 1:
        # Never keep one and drop the others: the client would not know which was stored.
        raise InvalidRequest(
            f"file: one file per upload, got {len(uploads)}.",
            fields={"file": ["Send exactly one file per upload."]},
        )
    return uploads[0]


def _content(attachment: Attachment) -> FileResponse:
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=True,
        filename=attachment.filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class TakesUpload(ApiView):
    """An upload view (API or device): one multipart `file`, limited while it streams."""

    parser_classes = (MultiPartParser,)

    def upload_limit(self) -> int:
        return max_upload_bytes()

    def store_upload(self, request: Request, account: Account) -> Attachment:
        return attachment_create(account=account, upload=_uploaded_file(request))


class AttachmentUploadView(TakesUpload, AccountApiView):
    @extend_schema(
        operation_id="attachments_upload",
        summary="Upload an attachment",
        description=(
            "`multipart/form-data` with one `file` (up to 100 MiB, else 413). Streamed to "
            "storage; its type is sniffed from the bytes, never taken from the name. Use "
            "its id in `attachments` of one message: an attachment is sent once. Unused "
            "uploads are deleted after 24 hours."
        ),
        tags=["attachments"],
        request={"multipart/form-data": AttachmentUpload},
        responses={201: envelope(AttachmentDetailOutput)},
    )
    def post(self, request: Request) -> Response:
        attachment = self.store_upload(request, request_account(request))
        return created(AttachmentDetailOutput(attachment).data)


class AttachmentDetailView(AccountApiView):
    @extend_schema(
        operation_id="attachments_retrieve",
        summary="Get an attachment",
        tags=["attachments"],
        responses={200: envelope(AttachmentDetailOutput)},
    )
    def get(self, request: Request, attachment_id: str) -> Response:
        attachment = selectors.attachment_get(
            account=request_account(request), attachment_id=attachment_id
        )
        return ok(AttachmentDetailOutput(attachment).data)


class AttachmentContentView(AccountApiView):
    @extend_schema(
        operation_id="attachments_content",
        summary="Download an attachment's bytes",
        description="Served as a download with its sniffed type and `nosniff`.",
        tags=["attachments"],
        responses={(200, *BINARY_MEDIA_TYPES): BINARY_CONTENT},
    )
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        attachment = selectors.attachment_get(
            account=request_account(request), attachment_id=attachment_id
        )
        return _content(attachment)


class DeviceAttachmentUploadView(TakesUpload, DeviceView):
    @extend_schema(
        operation_id="device_attachments_upload",
        summary="Upload inbound media",
        description="Media of a received message: upload it first, then name its id in the "
        "`attachments` of the `message.received` event.",
        tags=["device protocol"],
        request={"multipart/form-data": AttachmentUpload},
        responses={201: envelope(AttachmentOutput)},
    )
    def post(self, request: Request) -> Response:
        account = request_device(request).handle.account
        if account is None:
            raise Forbidden("This device's handle is not assigned to an account.")
        return created(AttachmentOutput(self.store_upload(request, account)).data)


class DeviceAttachmentContentView(DeviceView):
    @extend_schema(
        operation_id="device_attachments_content",
        summary="Download an attachment to send",
        description="The bytes of an attachment named in a `send` job of this device's handle.",
        tags=["device protocol"],
        responses={(200, *BINARY_MEDIA_TYPES): BINARY_CONTENT},
    )
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        handle = request_device(request).handle
        return _content(selectors.attachment_for_device(handle=handle, attachment_id=attachment_id))
