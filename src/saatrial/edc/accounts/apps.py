"""Django app configuration of accounts (connects the audit signal handlers)."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The ``accounts`` app: site memberships, roles, login auditing and lockout."""

    name = "saatrial.edc.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from saatrial.edc.accounts import signals

        signals.connect()
