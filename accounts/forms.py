"""Dashboard forms of accounts: sign-in by email, keys, the team and the account."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import Membership


class EmailLoginForm(AuthenticationForm):
    """Django's sign-in form, asking for the email address (it is the username)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match. The password is case-sensitive.",
    }


# --- pages of an account ---------------------------------------------------------------


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=200,
        help_text="Where the key is used, for example “Production backend”.",
        # includes/field.html renders the help text with this id.
        widget=forms.TextInput(attrs={"autocomplete": "off", "aria-describedby": "id_name-help"}),
    )


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        label="Role",
        choices=Membership.Role.choices,
        initial=Membership.Role.DEVELOPER,
        help_text=(
            "Viewers read; developers also manage keys and webhooks and send messages; "
            "owners also manage the team and the account."
        ),
        widget=forms.Select(attrs={"aria-describedby": "id_role-help"}),
    )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices)


class AccountNameForm(forms.Form):
    name = forms.CharField(label="Account name", max_length=200)


REPLY_BOX = forms.Textarea(attrs={"rows": 2})


class ComplianceForm(forms.Form):
    """The account's answers to STOP, START and HELP, and the group rule (docs/compliance.md)."""

    opt_out_reply = forms.CharField(
        label="Reply to STOP",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    opt_in_reply = forms.CharField(
        label="Reply to START",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    help_reply = forms.CharField(
        label="Reply to HELP",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    group_opt_outs_allowed = forms.BooleanField(
        label="Send to groups that include someone who opted out", required=False
    )
    health_auto_pause = forms.BooleanField(
        label="Hold sends to new contacts while a number's line health is critical",
        required=False,
        help_text="Conversations with people a number knows go on either way.",
    )
