"""Electronic signatures of subjects' casebooks (append-only).

A :class:`Signature` records who signed which subject's casebook, when (UTC),
with which stated meaning, and the SHA-256 of the signed content
(:mod:`saatrial.edc.signatures.content`). Signatures are never changed or
deleted: the model refuses it and database triggers refuse UPDATE/DELETE
(migration ``0002_append_only``). Whether a signature still holds is computed
(:func:`saatrial.edc.signatures.service.signature_status`), never stored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from saatrial.edc.audit.context import audited_write_allowed

__all__ = ["Signature", "SignatureWriteError"]


class SignatureWriteError(RuntimeError):
    """A signature was written outside the signature service, changed or deleted."""


class SignatureQuerySet(models.QuerySet):
    """Signatures are append-only."""

    def update(self, **kwargs: Any) -> int:
        """Refused."""
        raise SignatureWriteError("signatures cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        """Refused."""
        raise SignatureWriteError("signatures cannot be deleted")

    delete.queryset_only = True  # type: ignore[attr-defined]


class Signature(models.Model):
    """One electronic signature of one subject's casebook.

    Attributes
    ----------
    subject : Subject
    signer : User
        Who signed; ``signer_username`` and ``signer_full_name`` are copies
        shown with the signature (21 CFR 11.50(a)(1): printed name).
    signed_at : datetime
        When (UTC, server time).
    meaning_code, meaning : str
        The stated meaning (code and exact text) - 21 CFR 11.50(a)(3).
    content_sha256 : str
        SHA-256 of the casebook content signed.
    audit_seq : int
        Sequence number of the ``signed`` audit entry; audited data changes of
        the subject after it void the signature.
    """

    subject = models.ForeignKey(
        "trial.Subject",
        to_field="subject_id",
        db_column="subject_id",
        on_delete=models.PROTECT,
        related_name="signatures",
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_username = models.CharField(max_length=150)
    signer_full_name = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField()
    meaning_code = models.CharField(max_length=32)
    meaning = models.TextField()
    content_sha256 = models.CharField(max_length=64)
    audit_seq = models.BigIntegerField()

    objects = SignatureQuerySet.as_manager()

    class Meta:
        db_table = "signatures_signature"
        ordering = ("-signed_at", "-id")
        indexes = (models.Index(fields=["subject", "signed_at"], name="signature_subject_idx"),)

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert a new signature (signature service only); changing one is refused."""
        if not self._state.adding:
            raise SignatureWriteError(f"signature {self.pk} cannot be changed")
        if not audited_write_allowed():
            raise SignatureWriteError("signatures are written by saatrial.edc.signatures.service")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Refused."""
        raise SignatureWriteError(f"signature {self.pk} cannot be deleted")

    def __str__(self) -> str:
        return (
            f"{self.subject_id} signed by {self.signer_username} at {self.signed_at:%Y-%m-%d %H:%M}"
        )
