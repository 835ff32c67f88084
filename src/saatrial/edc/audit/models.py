"""Audit trail tables: :class:`AuditEntry` (append-only, hash-chained) and the chain head.

An :class:`AuditEntry` is written only by :mod:`saatrial.edc.audit.service`
and never changed or deleted: ``save()`` of an existing entry, ``delete()``,
``QuerySet.update()``/``delete()`` raise :class:`AuditImmutableError`, and
database triggers (migration ``0002_append_only``) refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL) whatever the client.

:class:`AuditChainHead` is one row (``id = 1``) holding the last sequence
number and hash. Appending locks it (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite serialises writers with ``BEGIN IMMEDIATE``), so that two concurrent
transactions can never chain to the same predecessor.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db import models

from saatrial.edc.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash, timestamp_text
from saatrial.edc.audit.context import audited_write_allowed

__all__ = ["ACTION_LABELS", "Action", "AuditChainHead", "AuditEntry", "AuditImmutableError"]


class AuditImmutableError(RuntimeError):
    """An attempt to change, delete or forge an audit entry through the ORM."""


class Action(StrEnum):
    """What an audit entry records (the value stored in ``AuditEntry.action``)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    LOGIN_REFUSED = "login_refused"
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    EXPORT = "export"
    QUERY_RAISED = "query_raised"
    QUERY_ANSWERED = "query_answered"
    QUERY_CLOSED = "query_closed"
    QUERY_REOPENED = "query_reopened"
    SIGNED = "signed"
    REPORT_RUN = "report_run"
    SOURCE_VERIFIED = "source_verified"


#: Labels of the actions, for the admin and reports.
ACTION_LABELS: dict[str, str] = {
    Action.CREATE: "record created",
    Action.UPDATE: "record changed",
    Action.DELETE: "record deleted",
    Action.LOGIN: "logged in",
    Action.LOGOUT: "logged out",
    Action.LOGIN_FAILED: "failed login",
    Action.LOGIN_REFUSED: "login refused (account locked)",
    Action.LOCKOUT: "account locked after failed logins",
    Action.UNLOCK: "account unlocked",
    Action.EXPORT: "data exported",
    Action.QUERY_RAISED: "data query raised",
    Action.QUERY_ANSWERED: "data query answered by the site",
    Action.QUERY_CLOSED: "data query closed",
    Action.QUERY_REOPENED: "data query re-opened (answer not accepted)",
    Action.SIGNED: "casebook signed electronically",
    Action.REPORT_RUN: "analysis run",
    Action.SOURCE_VERIFIED: "record marked source-verified by a monitor",
}


class AuditEntryQuerySet(models.QuerySet):
    """Queries on the audit trail: reading only."""

    def update(self, **kwargs: Any) -> int:
        """Refused: audit entries are never changed."""
        raise AuditImmutableError("audit entries cannot be changed (QuerySet.update refused)")

    def delete(self) -> tuple[int, dict[str, int]]:
        """Refused: audit entries are never deleted."""
        raise AuditImmutableError("audit entries cannot be deleted (QuerySet.delete refused)")

    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        """Refused: audit entries are never changed."""
        raise AuditImmutableError("audit entries cannot be changed (bulk_update refused)")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        """Only the audit service appends entries (it keeps the hash chain)."""
        if not audited_write_allowed():
            raise AuditImmutableError(
                "audit entries are appended by saatrial.edc.audit.service only"
            )
        return super().bulk_create(objs, *args, **kwargs)


class AuditEntry(models.Model):
    """One audited fact: a field changed, a record created/deleted, a login, an export.

    Attributes
    ----------
    seq : int
        Position in the chain, 1, 2, 3 ... without gaps.
    timestamp : datetime
        When (UTC), set by the server.
    user_id, username
        Who: the Django user's id (None for the system or a command-line
        operator) and login name, copied so that they survive the account.
    action : str
        One of :class:`Action`.
    table_name, record_pk, record_key, subject_id, field_name
        What: data-dictionary table (or ``auth_user``, ``site_membership``),
        primary key, natural key (``CTL01|2013-10-16|ALT``), the subject the
        record belongs to, and the field.
    old_value, new_value : str or None
        Exact text of the value before and after (None = empty).
    reason : str
        Why (required for every change and deletion of a saved record).
    detail : str
        Extra context (client address, export scope ...).
    prev_hash, hash : str
        The chain (see :mod:`saatrial.edc.audit.chain`).
    """

    seq = models.BigIntegerField(unique=True, editable=False)
    timestamp = models.DateTimeField(editable=False)
    user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    username = models.CharField(max_length=150, editable=False)
    action = models.CharField(
        max_length=16, choices=[(a.value, ACTION_LABELS[a]) for a in Action], editable=False
    )
    table_name = models.CharField(max_length=64, blank=True, editable=False)
    record_pk = models.CharField(max_length=64, blank=True, editable=False)
    record_key = models.CharField(max_length=255, blank=True, editable=False)
    subject_id = models.CharField(max_length=64, blank=True, editable=False)
    field_name = models.CharField(max_length=64, blank=True, editable=False)
    old_value = models.TextField(null=True, blank=True, editable=False)
    new_value = models.TextField(null=True, blank=True, editable=False)
    reason = models.TextField(blank=True, editable=False)
    detail = models.TextField(blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ("seq",)
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = (
            models.Index(fields=["table_name", "record_pk"], name="audit_record_idx"),
            models.Index(fields=["subject_id"], name="audit_subject_idx"),
            models.Index(fields=["username", "action"], name="audit_user_action_idx"),
        )

    def __str__(self) -> str:
        what = ".".join(p for p in (self.table_name, self.record_key or self.record_pk) if p)
        field = f" {self.field_name}" if self.field_name else ""
        when = f"{self.timestamp:%Y-%m-%d %H:%M:%S}"
        return f"#{self.seq} {when} {self.username} {self.action} {what}{field}"

    def payload(self) -> dict[str, Any]:
        """The hashed fields of this entry (see :data:`~saatrial.edc.audit.chain.HASHED_FIELDS`)."""
        values: dict[str, Any] = {name: getattr(self, name) for name in HASHED_FIELDS}
        values["timestamp"] = timestamp_text(self.timestamp)
        values["seq"] = int(self.seq)
        values["user_id"] = None if self.user_id is None else int(self.user_id)
        return values

    def computed_hash(self) -> str:
        """The hash this entry should carry given its content and ``prev_hash``."""
        return entry_hash(self.payload())

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert a new entry (audit service only); changing a stored entry is refused."""
        if not self._state.adding:
            raise AuditImmutableError(f"audit entry #{self.seq} cannot be changed")
        if not audited_write_allowed():
            raise AuditImmutableError(
                "audit entries are appended by saatrial.edc.audit.service only"
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused: audit entries are never deleted."""
        raise AuditImmutableError(f"audit entry #{self.seq} cannot be deleted")


class AuditChainHead(models.Model):
    """The last link of the audit chain (a single row, ``id = 1``).

    Attributes
    ----------
    last_seq : int
        ``seq`` of the newest entry (0 before the first).
    last_hash : str
        ``hash`` of the newest entry (:data:`GENESIS_HASH` before the first).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = "audit chain head"
        constraints = (
            models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single_row"),
        )

    def __str__(self) -> str:
        return f"audit chain head: seq {self.last_seq}, hash {self.last_hash[:12]}..."
