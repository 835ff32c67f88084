"""Read-only admin for the audit trail: no add, change or delete path exists."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from saatrial.edc.audit.models import AuditChainHead, AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Audit entries can be listed and viewed, never added, changed or deleted."""

    list_display: tuple[str, ...] = (
        "seq",
        "timestamp",
        "username",
        "action",
        "table_name",
        "record_key",
        "field_name",
        "old_value",
        "new_value",
        "reason",
    )
    list_filter: tuple[str, ...] = ("action", "table_name")
    search_fields: tuple[str, ...] = (
        "username",
        "record_key",
        "subject_id",
        "field_name",
        "reason",
    )
    ordering: tuple[str, ...] = ("-seq",)
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(AuditEntryAdmin):
    """The chain head, view only."""

    list_display = ("id", "last_seq", "last_hash")
    list_filter = ()
    search_fields = ()
    ordering = ("id",)
