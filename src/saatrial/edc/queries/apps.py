"""Django app configuration of data queries."""

from django.apps import AppConfig


class QueriesConfig(AppConfig):
    """The ``queries`` app: data queries raised on casebook values, and their workflow."""

    name = "saatrial.edc.queries"
    label = "queries"
    verbose_name = "Data queries"
    default_auto_field = "django.db.models.BigAutoField"
