"""Django app configuration of exports and analysis runs (pages, no models)."""

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """The ``exports`` app: study export (CSV/XLSX) and the statistician's analysis runs."""

    name = "saatrial.edc.exports"
    label = "exports"
    verbose_name = "Exports and analysis"
