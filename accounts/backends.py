"""Dashboard sign-in by email address (case does not matter), with Django's password check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest


class EmailBackend(ModelBackend):
    """`username` is the email address the person was invited with."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        user = User.objects.filter(email__iexact=username.strip()).first()
        if user is None:
            User().set_password(password)  # as slow as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
