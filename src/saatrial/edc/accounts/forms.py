"""The login form: Django's, telling the user when the account name is locked."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from saatrial.edc.accounts.lockout import current_lockout

__all__ = ["LoginForm"]


class LoginForm(AuthenticationForm):
    """:class:`AuthenticationForm` whose error says so when the name is locked."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            status = current_lockout(str(self.cleaned_data.get("username") or ""))
            if status.locked:
                raise ValidationError(status.message(), code="locked") from None
            raise
