"""Dashboard forms of accounts: sign-in by email."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class EmailLoginForm(AuthenticationForm):
    """Django's sign-in form, asking for the email address (it is the username)."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
