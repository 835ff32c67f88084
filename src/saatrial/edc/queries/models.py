"""Data queries: a question about a value of a subject's casebook, and its answer.

A :class:`DataQuery` names the record and field it is about (dictionary table,
primary key, natural key, field), who raised it and why, and keeps the site's
status apart from data management's (see :mod:`saatrial.edc.queries.workflow`).
A query opened by a confirmed soft-range value links the audit entry of that
change (``audit_entry``).

Queries are written only by :mod:`saatrial.edc.queries.service` (every change
audited with :func:`~saatrial.edc.audit.service.record_event`); ``save()``
outside it, ``delete()`` and bulk updates raise. Every version of a query is
kept in ``HistoricalDataQuery``, made append-only by database triggers
(migration ``0002_append_only``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from saatrial.edc.audit.context import audited_write_allowed
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.queries.workflow import load_workflow, overall_status

__all__ = ["DataQuery", "QueryOrigin", "QueryWriteError"]


class QueryWriteError(RuntimeError):
    """A query was changed or deleted outside the query service."""


class QueryOrigin(models.TextChoices):
    """Who or what raised a query."""

    MANUAL = "manual", "raised by a monitor or data manager"
    SOFT_RANGE = "soft_range", "value outside its plausible range, confirmed at entry"
    DOSE = "dose", "dose outside the protocol tolerance, confirmed at entry"


def _choices(mapping: Any) -> list[tuple[str, str]]:
    return [(k, k.replace("_", " ")) for k in mapping]


class DataQueryQuerySet(models.QuerySet):
    """Queries on data queries: bulk writes refused (each change is audited)."""

    def update(self, **kwargs: Any) -> int:
        """Refused: use the query service."""
        raise QueryWriteError("data queries change through saatrial.edc.queries.service only")

    def delete(self) -> tuple[int, dict[str, int]]:
        """Refused: queries are never deleted."""
        raise QueryWriteError("data queries are never deleted")

    delete.queryset_only = True  # type: ignore[attr-defined]


class DataQuery(models.Model):
    """A data query on one field (or one whole record) of a subject's casebook.

    Attributes
    ----------
    subject : Subject
    table_name, record_pk, record_key, field_name : str
        The record queried: dictionary table, primary key, natural key; the
        field (empty = the whole record).
    text : str
        The question.
    origin : QueryOrigin
    raised_by, raised_by_username, raised_at
        Who raised it and when (UTC).
    site_status, dm_status : str
        Kept apart: the site's answer status and data management's status.
    answer, answered_by, answered_at
        The site's latest answer.
    close_note, closed_by, closed_at
        Data management's closing note.
    audit_entry : AuditEntry or None
        The audited change that caused the query (confirmed soft-range value).
    """

    subject = models.ForeignKey(
        "trial.Subject",
        to_field="subject_id",
        db_column="subject_id",
        on_delete=models.PROTECT,
        related_name="data_queries",
    )
    table_name = models.CharField(max_length=64)
    record_pk = models.CharField(max_length=64)
    record_key = models.CharField(max_length=255, blank=True)
    field_name = models.CharField(max_length=64, blank=True)
    text = models.TextField()
    origin = models.CharField(
        max_length=16, choices=QueryOrigin.choices, default=QueryOrigin.MANUAL
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_by_username = models.CharField(max_length=150)
    raised_at = models.DateTimeField()
    site_status = models.CharField(max_length=32, choices=_choices(load_workflow().site_statuses))
    dm_status = models.CharField(max_length=16, choices=_choices(load_workflow().dm_statuses))
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # no database constraint: audit entries are never deleted (append-only triggers), and a
    # foreign key would turn PostgreSQL's refusal of TRUNCATE into a different error
    audit_entry = models.ForeignKey(
        AuditEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )

    objects = DataQueryQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        db_table = "queries_dataquery"
        ordering = ("-raised_at", "-id")
        verbose_name = "data query"
        verbose_name_plural = "data queries"
        indexes = (
            models.Index(fields=["subject", "dm_status"], name="query_subject_status_idx"),
            models.Index(fields=["table_name", "record_pk"], name="query_record_idx"),
        )

    @property
    def status(self) -> str:
        """Overall status (``open``, ``answered``, ``closed``) from the two statuses."""
        return overall_status(self.site_status, self.dm_status)

    @property
    def target(self) -> str:
        """``table key field`` of the queried value, for people."""
        field = f".{self.field_name}" if self.field_name else ""
        return f"{self.table_name} {self.record_key or self.record_pk}{field}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save (only inside :mod:`saatrial.edc.queries.service`)."""
        if not audited_write_allowed():
            raise QueryWriteError(
                "data queries change through saatrial.edc.queries.service only (audited)"
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused: queries are never deleted."""
        raise QueryWriteError(f"data query {self.pk} cannot be deleted")

    def __str__(self) -> str:
        return f"query {self.pk} on {self.target} ({self.status})"
