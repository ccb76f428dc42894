"""Signing operators in to admin and running its actions, for the admin tests of every app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import Client


def operator_client(username: str = "operator") -> Client:
    """A client signed in as a staff superuser named `username`."""
    user = get_user_model().objects.create_superuser(
        username, f"{username}@example.com", "correct horse battery"
    )
    client = Client()
    client.force_login(user)
    return client


def run_action(
    client: Client, changelist: str, action: str, pks: Iterable[Any], **extra: Any
) -> Any:
    """POST an admin action on these objects of the changelist at `changelist`."""
    return client.post(
        changelist,
        {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], **extra},
    )


def result_messages(response: Any) -> list[str]:
    """The messages an admin response (followed) shows the operator."""
    return [str(message) for message in response.context["messages"]]
