"""Dashboard forms of messaging: sending, filtering the message log, and opt-outs."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms

from contract.errors import DomainError
from handles.addresses import handle_normalize
from handles.models import Channel
from messaging.api.serializers import MAX_TEXT
from messaging.models import Message


def _submission_key() -> str:
    return uuid.uuid4().hex


class ComposeForm(forms.Form):
    """A message into an existing conversation."""

    text = forms.CharField(
        label="Message", max_length=MAX_TEXT, strip=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Carried by the form so that submitting it twice sends once.
    submission = forms.CharField(widget=forms.HiddenInput, initial=_submission_key)

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if not text.strip():
            raise forms.ValidationError("Write something to send.")
        return text


class NewMessageForm(ComposeForm):
    """A message to someone: the conversation is found or started."""

    to = forms.CharField(
        label="To", help_text="A phone number in E.164 form (+14155550123) or an email address."
    )
    from_handle = forms.ChoiceField(label="From", required=False)
    channel = forms.ChoiceField(
        label="Channel",
        choices=[("auto", "Automatic (iMessage, else SMS)"), *Channel.choices],
        initial="auto",
    )
    field_order = ["to", "from_handle", "channel", "text", "submission"]

    def __init__(self, *args: Any, handles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["from_handle"]).choices = [
            ("", "Choose for me"),
            *((h, h) for h in handles),
        ]

    def clean_to(self) -> str:
        try:
            return handle_normalize(self.cleaned_data["to"], field="to")
        except DomainError as error:
            raise forms.ValidationError(error.message) from error


class MessageFilterForm(forms.Form):
    """The message log's filters; every one optional."""

    q = forms.CharField(label="Search", required=False, help_text="A message id or words.")
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), *Message.Status.choices]
    )
    direction = forms.ChoiceField(
        label="Direction", required=False, choices=[("", "Any"), *Message.Direction.choices]
    )
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any"), *Channel.choices]
    )
    handle = forms.ChoiceField(label="Handle", required=False)
    to = forms.CharField(label="Recipient", required=False)
    created_after = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, handles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["handle"]).choices = [
            ("", "Any"),
            *((h, h) for h in handles),
        ]

    def clean_to(self) -> str:
        raw = self.cleaned_data["to"].strip()
        if not raw:
            return ""
        try:
            return handle_normalize(raw, field="to")
        except DomainError as error:
            raise forms.ValidationError(error.message) from error


def _normalized_recipient(raw: str) -> str:
    """The address as the API normalizes it, or the form's error."""
    try:
        return handle_normalize(raw.strip(), field="recipient")
    except DomainError as error:
        raise forms.ValidationError(error.message) from error


class OptOutForm(forms.Form):
    """Opt someone out of the account by hand (as `POST /v1/opt-outs` does)."""

    recipient = forms.CharField(
        label="Recipient",
        max_length=254,
        help_text="A phone number in E.164 form (+14155550123) or an email address.",
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        help_text="Optional: why, for your team (for example, asked by phone).",
    )

    def clean_recipient(self) -> str:
        return _normalized_recipient(self.cleaned_data["recipient"])


class OptOutFilterForm(forms.Form):
    """The opt-out list's filter: one recipient."""

    recipient = forms.CharField(label="Recipient", required=False, max_length=254)

    def clean_recipient(self) -> str:
        raw = self.cleaned_data["recipient"].strip()
        return _normalized_recipient(raw) if raw else ""
