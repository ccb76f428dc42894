"""Device authentication: `Authorization: Device <token>`, never an API key."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from config.api.errors import ApiError
from config.api.ratelimit import failed_auth_check, failed_auth_record
from handles import selectors, services
from handles.models import Device


class DeviceAuthentication(BaseAuthentication):
    """Authenticate a device agent; every authenticated call counts as the device being seen."""

    def authenticate(self, request: Request) -> tuple[None, Device]:
        failed_auth_check(request)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise ApiError(
                "unauthorized", "Missing device token: send Authorization: Device <token>."
            )
        scheme, _, token = header.partition(" ")
        device = None
        if scheme.lower() == "device" and token.strip():
            device = selectors.device_get_by_token(token=token.strip())
        if device is None:
            failed_auth_record(request)
            raise ApiError("unauthorized", "Invalid or revoked device token.")
        services.device_seen(device=device)
        return (None, device)

    def authenticate_header(self, request: Request) -> str:
        return 'Device realm="switchboard-device"'


class IsDevice(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, Device):
            raise ApiError("unauthorized")
        return True


def request_device(request: Request) -> Device:
    device = request.auth
    assert isinstance(device, Device)
    return device
