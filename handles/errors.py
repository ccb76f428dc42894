"""What can go wrong at the device boundary, by catalog code (contract.errors)."""

from __future__ import annotations

from contract.errors import DomainError


class InvalidHandle(DomainError):
    """Not a valid E.164 number or iMessage email address."""

    code = "invalid_handle"


class DeviceOffline(DomainError):
    """The handle's device has not called recently: nothing was asked of it."""

    code = "device_offline"


class DeviceActionFailed(DomainError):
    """A synchronous action failed on the device or got no answer in time.

    Each action has its own code: the app that defines the action subclasses this.
    """
