"""Source-data verification marks (append-only).

A :class:`SourceVerification` records that a monitor compared one record of
a subject's casebook (a row of a subject table) with the source documents:
who, when (UTC), the SHA-256 of the record's values as verified, and the
sequence number of the ``source_verified`` audit entry. Marks are never
changed or deleted (the model refuses it; database triggers refuse UPDATE and
DELETE, migration ``0002_append_only``). Whether a mark still holds is
computed (:func:`saatrial.edc.sdv.service.sdv_status`), never stored: any
audited change of the record after the mark clears it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from saatrial.edc.audit.context import audited_write_allowed

__all__ = ["SdvWriteError", "SourceVerification"]


class SdvWriteError(RuntimeError):
    """A mark was written outside the SDV service, changed or deleted."""


class SourceVerificationQuerySet(models.QuerySet):
    """Marks are append-only."""

    def update(self, **kwargs: Any) -> int:
        """Refused."""
        raise SdvWriteError("source-verification marks cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        """Refused."""
        raise SdvWriteError("source-verification marks cannot be deleted")

    delete.queryset_only = True  # type: ignore[attr-defined]


class SourceVerification(models.Model):
    """One record of a subject's casebook marked as source-verified.

    Attributes
    ----------
    subject : Subject
    table_name, record_pk, record_key : str
        The record: dictionary table, primary key, natural key.
    verified_by, verified_by_username
        The monitor (the name is a copy that survives the account).
    verified_at : datetime
        When (UTC, server time).
    content_sha256 : str
        SHA-256 of the record's values as verified
        (:func:`saatrial.edc.sdv.service.record_sha256`).
    note : str
        The monitor's note (optional).
    audit_seq : int
        Sequence number of the ``source_verified`` audit entry; audited
        changes of the record after it clear the mark.
    """

    subject = models.ForeignKey(
        "trial.Subject",
        to_field="subject_id",
        db_column="subject_id",
        on_delete=models.PROTECT,
        related_name="source_verifications",
    )
    table_name = models.CharField(max_length=64)
    record_pk = models.CharField(max_length=64)
    record_key = models.CharField(max_length=255)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_by_username = models.CharField(max_length=150)
    verified_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64)
    note = models.TextField(blank=True)
    audit_seq = models.BigIntegerField()

    objects = SourceVerificationQuerySet.as_manager()

    class Meta:
        db_table = "sdv_sourceverification"
        ordering = ("-audit_seq",)
        verbose_name = "source-data verification"
        indexes = (
            models.Index(fields=["table_name", "record_pk"], name="sdv_record_idx"),
            models.Index(fields=["subject", "audit_seq"], name="sdv_subject_idx"),
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert a new mark (SDV service only); changing one is refused."""
        if not self._state.adding:
            raise SdvWriteError(f"source-verification mark {self.pk} cannot be changed")
        if not audited_write_allowed():
            raise SdvWriteError("source-verification marks are written by saatrial.edc.sdv.service")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused."""
        raise SdvWriteError(f"source-verification mark {self.pk} cannot be deleted")

    def __str__(self) -> str:
        return (
            f"{self.table_name} {self.record_key} verified by {self.verified_by_username} "
            f"at {self.verified_at:%Y-%m-%d %H:%M}"
        )
