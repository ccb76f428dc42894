"""The dashboard's webhook endpoint form: it parses what a person typed; the services decide.

Whether a URL may receive webhooks, and which event types exist, is the services' call
(`webhook_endpoint_create`, `webhook_endpoint_update`): the form only shapes the input, and
puts a `DomainError` they raise on the field it names.
"""

from __future__ import annotations

from typing import Any

from django import forms

from contract.errors import DomainError
from webhooks.events import EVENT_TYPES

ALL_EVENTS = "*"
# webhook.test goes only to the endpoint it is sent to; nobody subscribes to it.
SUBSCRIBABLE_EVENT_TYPES = tuple(t for t in EVENT_TYPES if t != "webhook.test")
EVENT_CHOICES = [(ALL_EVENTS, "All events"), *((t, t) for t in SUBSCRIBABLE_EVENT_TYPES)]


class WebhookEndpointForm(forms.Form):
    """An endpoint's url, description, events (a type each, or all) and whether it is on."""

    # A CharField, not a URLField: check_webhook_url is the one judge of a webhook URL.
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2048,
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="A public http(s) URL. Switchboard POSTs each event to it, signed.",
    )
    description = forms.CharField(
        label="Description",
        max_length=500,
        required=False,
        help_text="Optional: what this endpoint is for.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="All events includes event types added later.",
        error_messages={"required": "Choose at least one event type, or All events."},
    )
    enabled = forms.BooleanField(
        label="Enabled",
        required=False,
        initial=True,
        help_text="Send events to this endpoint.",
    )

    def add_domain_error(self, error: DomainError) -> None:
        """Show what a service refused on the fields it names (the form's top otherwise)."""
        if not error.fields:
            self.add_error(None, error.message)
            return
        for name, field_messages in error.fields.items():
            for message in field_messages:
                self.add_error(name if name in self.fields else None, message)

    def changes(self) -> dict[str, Any]:
        """Only what the person changed: `enabled=True` sent again unchanged would restart
        the failing endpoint's five days before it is disabled."""
        return {name: self.cleaned_data[name] for name in self.changed_data}
