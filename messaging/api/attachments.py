"""Uploading and fetching attachments, for API clients and for devices."""

from __future__ import annotations

import re

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.auth import request_account
from config.api.envelope import created, envelope, ok
from config.api.errors import ApiError
from config.api.limits import LARGE_BODY_PATHS
from config.api.views import ApiView
from handles.device.auth import request_device
from handles.device.views import DeviceView
from messaging import selectors
from messaging.api.serializers import AttachmentDetailOutput, AttachmentOutput
from messaging.attachments import attachment_create, max_upload_bytes
from messaging.models import Attachment

# Multipart framing on top of the file itself.
_MULTIPART_OVERHEAD = 64 * 1024
LARGE_BODY_PATHS.append(
    (re.compile(r"^/(device/)?v1/attachments$"), max_upload_bytes() + _MULTIPART_OVERHEAD)
)

UPLOAD_BODY = inline_serializer(
    "AttachmentUpload", fields={"file": serializers.FileField(help_text="The file, up to 100 MiB.")}
)


def _uploaded_file(request: Request) -> object:
    upload = request.FILES.get("file")
    extra = sorted(set(request.data) - {"file"})
    if extra:
        raise ApiError(
            "invalid_request",
            f"Unknown field: {extra[0]}.",
            fields={name: ["This field is not allowed."] for name in extra},
        )
    if upload is None:
        raise ApiError("invalid_request", "file is required.", fields={"file": ["Required."]})
    return upload


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


class AttachmentUploadView(ApiView):
    parser_classes = (MultiPartParser,)

    @property
    def upload_limit(self) -> int:  # type: ignore[override]
        return max_upload_bytes()

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
        request={"multipart/form-data": UPLOAD_BODY},
        responses={201: envelope(AttachmentDetailOutput)},
    )
    def post(self, request: Request) -> Response:
        upload = _uploaded_file(request)
        attachment = attachment_create(account=request_account(request), upload=upload)  # type: ignore[arg-type]
        return created(AttachmentDetailOutput(attachment).data)


class AttachmentDetailView(ApiView):
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


class AttachmentContentView(ApiView):
    @extend_schema(
        operation_id="attachments_content",
        summary="Download an attachment's bytes",
        description="Served as a download with its sniffed type and `nosniff`.",
        tags=["attachments"],
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
    )
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        attachment = selectors.attachment_get(
            account=request_account(request), attachment_id=attachment_id
        )
        return _content(attachment)


class DeviceAttachmentUploadView(DeviceView):
    parser_classes = (MultiPartParser,)

    @property
    def upload_limit(self) -> int:  # type: ignore[override]
        return max_upload_bytes()

    @extend_schema(
        operation_id="device_attachments_upload",
        summary="Upload inbound media",
        description="Media of a received message: upload it first, then name its id in the "
        "`attachments` of the `message.received` event.",
        tags=["device protocol"],
        request={"multipart/form-data": UPLOAD_BODY},
        responses={201: envelope(AttachmentOutput)},
    )
    def post(self, request: Request) -> Response:
        account = request_device(request).handle.account
        if account is None:
            raise ApiError("forbidden", "This device's handle is not assigned to an account.")
        attachment = attachment_create(account=account, upload=_uploaded_file(request))  # type: ignore[arg-type]
        return created(AttachmentOutput(attachment).data)


class DeviceAttachmentContentView(DeviceView):
    @extend_schema(
        operation_id="device_attachments_content",
        summary="Download an attachment to send",
        description="The bytes of an attachment named in a `send` job of this device's handle.",
        tags=["device protocol"],
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
    )
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        handle = request_device(request).handle
        return _content(selectors.attachment_for_device(handle=handle, attachment_id=attachment_id))
