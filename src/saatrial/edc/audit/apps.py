"""Django app configuration of the audit trail."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The ``audit`` app: AuditEntry, the chain head and the append-only triggers."""

    name = "saatrial.edc.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"
