"""Django app configuration of source-data verification."""

from django.apps import AppConfig


class SdvConfig(AppConfig):
    """The ``sdv`` app: monitors mark casebook records as verified against the source."""

    name = "saatrial.edc.sdv"
    label = "sdv"
    verbose_name = "Source-data verification"
    default_auto_field = "django.db.models.BigAutoField"
