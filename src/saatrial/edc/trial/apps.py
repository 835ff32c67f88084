"""Django app configuration of the clinical data models."""

from django.apps import AppConfig


class TrialConfig(AppConfig):
    """The ``trial`` app: models mirroring the data dictionary."""

    name = "saatrial.edc.trial"
    label = "trial"
    verbose_name = "Trial data"
    default_auto_field = "django.db.models.BigAutoField"
