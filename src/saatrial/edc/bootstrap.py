"""Start Django outside a web server (CLI commands, scripts)."""

from __future__ import annotations

import os

__all__ = ["setup_django"]


def setup_django(migrate: bool = False, verbosity: int = 0) -> None:
    """Configure Django with ``saatrial.edc.settings`` (once) and optionally migrate.

    Parameters
    ----------
    migrate : bool
        Apply pending migrations to the default database first (creates the
        SQLite file on first use).
    verbosity : int
        Verbosity of ``migrate``.

    Raises
    ------
    django.core.exceptions.ImproperlyConfigured
        Settings refuse the environment (e.g. no ``SAATRIAL_SECRET_KEY`` in
        production mode, an unsupported ``DATABASE_URL``).
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saatrial.edc.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=verbosity)
