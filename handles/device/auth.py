"""Device authentication: `Authorization: Device <token>`, never an API key."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from contract.auth import SecretTokenAuthentication
from contract.errors import Unauthorized
from handles import selectors, services
from handles.models import Device


class DeviceAuthentication(SecretTokenAuthentication):
    """Authenticate a device agent; every authenticated call counts as the device being seen."""

    scheme = "Device"
    realm = "switchboard-device"
    missing_message = "Missing device token: send Authorization: Device <token>."
    invalid_message = "Invalid or revoked device token."
    openapi_scheme_name = "DeviceToken"
    openapi_security_definition = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A device agent's token: `Authorization: Device sbd_…`.",
    }

    def find(self, secret: str) -> Device | None:
        return selectors.device_authenticate(token=secret)

    def remembered(self, secret: str) -> Device | None:
        return selectors.device_remembered(token=secret)

    def accepted(self, request: Request, principal: Device) -> None:
        services.device_seen(device=principal)


class IsDevice(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, Device):
            raise Unauthorized()
        return True


def request_device(request: Request) -> Device:
    device = request.auth
    assert isinstance(device, Device)
    return device
