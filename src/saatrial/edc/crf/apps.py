"""Django app configuration of the case report forms (pages, no models)."""

from django.apps import AppConfig


class CrfConfig(AppConfig):
    """The ``crf`` app: subject pages, forms of every dictionary table, screening, calendar."""

    name = "saatrial.edc.crf"
    label = "crf"
    verbose_name = "Case report forms"
