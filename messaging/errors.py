"""What can go wrong sending and acting on messages, by catalog code (contract.errors)."""

from __future__ import annotations

from contract.errors import DomainError
from handles.errors import DeviceActionFailed


class InvalidFromHandle(DomainError):
    """The sender is not one of the account's handles (or cannot send this message)."""

    code = "invalid_from_handle"


class InvalidAttachments(DomainError):
    code = "invalid_attachments"


class NotAGroup(DomainError):
    code = "not_a_group"


class RecipientOptedOut(DomainError):
    """The recipient (or a member of the group) opted out of the account's messages."""

    code = "recipient_opted_out"


class EditFailed(DeviceActionFailed):
    code = "edit_failed"


class ReactionFailed(DeviceActionFailed):
    code = "reaction_failed"


class UnsendFailed(DeviceActionFailed):
    code = "unsend_failed"


class GroupUpdateFailed(DeviceActionFailed):
    code = "group_update_failed"


class TypingFailed(DeviceActionFailed):
    code = "typing_failed"


class ReadFailed(DeviceActionFailed):
    code = "read_failed"
