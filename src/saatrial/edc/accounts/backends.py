"""Authentication backend: Django's password check, refused while the name is locked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from saatrial.edc.accounts.lockout import current_lockout

__all__ = ["LockoutModelBackend"]


class LockoutModelBackend(ModelBackend):
    """:class:`~django.contrib.auth.backends.ModelBackend` that refuses locked account names.

    A locked name is refused before the password is checked (raising
    :class:`PermissionDenied` stops every other backend); Django then sends
    ``user_login_failed``, which the signal handler audits as ``login_refused``.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is not None and current_lockout(str(username)).locked:
            raise PermissionDenied(f"account {username!r} is locked after failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)
