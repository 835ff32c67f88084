"""Django app configuration of electronic signatures."""

from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    """The ``signatures`` app: investigators sign subjects' casebooks (21 CFR 11 subpart C)."""

    name = "saatrial.edc.signatures"
    label = "signatures"
    verbose_name = "Electronic signatures"
    default_auto_field = "django.db.models.BigAutoField"
