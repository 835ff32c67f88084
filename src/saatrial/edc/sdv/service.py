"""Mark a casebook record source-verified, and tell whether the mark still holds.

Source-data verification (SDV): a monitor compares the values of one record
of a subject's casebook (a row of ``subjects`` or of a table keyed by
``subject_id``) with the source documents at the site and marks it verified.
:func:`verify_record` needs ``can_verify_source`` at the subject's site, stores
a :class:`~saatrial.edc.sdv.models.SourceVerification` with the SHA-256 of the
record's values (:func:`record_sha256`) and appends a ``source_verified``
audit entry, in one transaction. The monitor's page sends the hash of the
values it showed; if the record changed in between, nothing is marked.

A mark is *cleared* (:func:`sdv_state`) as soon as any audited data change
of that record (update or delete; the lock flag excepted) follows it in the
audit trail - so reverting a value does not restore the mark: verify again -
or when the record's values differ from the verified ones without an audited
change (altered behind the application's back). The state is computed on
every view, never stored.

References
----------
.. [1] ICH E6(R3) (2025) 3.11.4 (monitoring: verification that the data
   reported are accurate, complete and verifiable from source records) and
   Annex 1 3.16.1 (audit trail of data changes).
.. [2] saatrial issue 7 §3: the monitor reads its own sites, raises queries
   and marks data source-verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import transaction

from saatrial.edc.accounts.access import require_permission
from saatrial.edc.audit.context import allow_audited_write, pinned_database
from saatrial.edc.audit.models import Action, AuditChainHead, AuditEntry
from saatrial.edc.audit.service import record_event
from saatrial.edc.crf.casebook import subject_table_names
from saatrial.edc.load import model_field_names
from saatrial.edc.sdv.models import SourceVerification
from saatrial.edc.signatures.content import casebook_sha256
from saatrial.edc.trial.models import Subject, TrialModel, model_for_table

__all__ = [
    "DEFAULT_NOTE",
    "SdvRefusedError",
    "SdvState",
    "SdvStatus",
    "marks_of",
    "record_sha256",
    "record_values",
    "sdv_state",
    "sdv_states",
    "sdv_status",
    "verify_record",
]

#: Reason recorded in the audit trail when the monitor leaves no note.
DEFAULT_NOTE = "source data verified: values compared with the source documents"

#: Audit actions that change a record (they clear its SDV mark).
DATA_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DELETE)


class SdvRefusedError(ValueError):
    """Marking refused (unknown table or record, record changed since shown); nothing written."""


class SdvState(StrEnum):
    """Whether a record is source-verified."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    CLEARED = "cleared"


@dataclass(frozen=True)
class SdvStatus:
    """The SDV state of one record.

    Attributes
    ----------
    state : SdvState
    mark : SourceVerification or None
        The latest mark of the record.
    change : AuditEntry or None
        The first audited change of the record after the mark (when cleared).
    text : str
        The state in words, e.g. ``cleared: changed after verification on
        2025-01-02 10:00 UTC by cora (value); was verified by mona on ...``.
    """

    state: SdvState
    mark: SourceVerification | None
    change: AuditEntry | None
    text: str

    @property
    def verified(self) -> bool:
        """True when the record is verified and unchanged since."""
        return self.state is SdvState.VERIFIED

    @property
    def short(self) -> str:
        """The state in a few words, for a table cell (``text`` has it all)."""
        if self.mark is None:
            return "not verified"
        if self.state is SdvState.VERIFIED:
            return f"verified by {self.mark.verified_by_username} {self.mark.verified_at:%Y-%m-%d}"
        if self.change is not None:
            field = f" ({self.change.field_name})" if self.change.field_name else ""
            return (
                f"cleared: changed by {self.change.username} "
                f"{self.change.timestamp:%Y-%m-%d}{field}"
            )
        return "cleared: values differ from the verified ones"


def record_sha256(subject_id: str, table: str, values: Mapping[str, Any]) -> str:
    """SHA-256 of one record's values (dictionary fields, canonical text).

    The bytes hashed are those of :func:`saatrial.edc.signatures.content.casebook_bytes`
    for a casebook holding this one row in this one table.

    Parameters
    ----------
    subject_id : str
    table : str
        A subject table of the data dictionary.
    values : Mapping[str, Any]
        Dictionary field name -> Python value (missing fields are empty).

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> import hashlib
    >>> h = record_sha256("S1", "labs", {"subject_id": "S1", "lab_date": None, "test": "HGB",
    ...                                  "value": 95.0, "unit": "g/L"})
    >>> h == hashlib.sha256(b'{"subject_id":"S1","tables":{"labs":{"fields":["subject_id",'
    ...     b'"lab_date","test","value","unit","lln","uln","pre_transfusion"],'
    ...     b'"rows":[["S1","","HGB","95","g/L","","",""]]}}}').hexdigest()
    True
    """
    return casebook_sha256(subject_id, {table: [dict(values)]})


def record_values(table: str, record: TrialModel) -> dict[str, Any]:
    """The dictionary field values of ``record`` (a row of ``table``)."""
    return {name: getattr(record, name) for name in model_field_names(type(record))}


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def sdv_state(
    mark: SourceVerification | None,
    change: AuditEntry | None,
    current_sha256: str | None,
) -> SdvStatus:
    """The SDV state of a record from its latest mark and the first audited change after it.

    Parameters
    ----------
    mark : SourceVerification or None
        The record's latest mark (None: never verified).
    change : AuditEntry or None
        The first audited data change of the record with ``seq`` above the
        mark's ``audit_seq`` (None: none).
    current_sha256 : str or None
        :func:`record_sha256` of the record now (None: the record is gone).

    Returns
    -------
    SdvStatus
    """
    if mark is None:
        return SdvStatus(SdvState.UNVERIFIED, None, None, "not source-verified")
    was = f"verified by {mark.verified_by_username} on {_when(mark.verified_at)}"
    if change is not None:
        field = f" ({change.field_name})" if change.field_name else ""
        verb = "deleted" if change.action == Action.DELETE else "changed"
        text = (
            f"cleared: {verb} after verification on {_when(change.timestamp)} by "
            f"{change.username}{field}; was {was}"
        )
        return SdvStatus(SdvState.CLEARED, mark, change, text)
    if current_sha256 != mark.content_sha256:
        text = (
            "cleared: the record differs from the verified values but no audited change "
            f"follows the mark (run `saatrial audit verify`); was {was}"
        )
        return SdvStatus(SdvState.CLEARED, mark, None, text)
    return SdvStatus(SdvState.VERIFIED, mark, None, was)


RecordRef = tuple[str, str]  # (table, record pk as text)


def sdv_states(
    subject_id: str,
    records: Mapping[RecordRef, Mapping[str, Any] | None],
    using: str = "default",
) -> dict[RecordRef, SdvStatus]:
    """The SDV state of several records of one subject, in three queries.

    Parameters
    ----------
    subject_id : str
    records : Mapping[(table, pk text), values or None]
        The records to judge and their current dictionary values (None: gone).
    using : str
        Database alias.

    Returns
    -------
    dict
        (table, pk text) -> :class:`SdvStatus`, for every record asked for.
    """
    latest: dict[RecordRef, SourceVerification] = {}
    marks = SourceVerification.objects.using(using).filter(subject_id=subject_id)
    for mark in marks.order_by("audit_seq"):
        latest[(mark.table_name, mark.record_pk)] = mark  # later marks replace earlier ones
    changes: dict[RecordRef, AuditEntry] = {}
    wanted = {ref: m for ref, m in latest.items() if ref in records}
    if wanted:
        entries = (
            AuditEntry.objects.using(using)
            .filter(
                subject_id=subject_id,
                action__in=[str(a) for a in DATA_ACTIONS],
                table_name__in=sorted({t for t, _ in wanted}),
                seq__gt=min(m.audit_seq for m in wanted.values()),
            )
            .exclude(table_name="subjects", field_name="locked")  # locking is not a data change
            .order_by("seq")
        )
        for entry in entries:
            ref = (entry.table_name, entry.record_pk)
            mark = wanted.get(ref)
            if mark is not None and ref not in changes and entry.seq > mark.audit_seq:
                changes[ref] = entry
    out: dict[RecordRef, SdvStatus] = {}
    for ref, values in records.items():
        mark = latest.get(ref)
        # a record never marked needs no hash (most records of a casebook)
        current = (
            None if values is None or mark is None else record_sha256(subject_id, ref[0], values)
        )
        out[ref] = sdv_state(mark, changes.get(ref), current)
    return out


def _record(subject: Subject, table: str, record_pk: Any, using: str) -> TrialModel:
    if table not in subject_table_names():
        raise SdvRefusedError(f"source verification: {table!r} is not a subject table")
    row = model_for_table(table).objects.using(using).filter(pk=record_pk).first()
    if row is None or getattr(row, "subject_id", None) != subject.subject_id:
        raise SdvRefusedError(
            f"source verification: {table} record {record_pk} is not a record of subject "
            f"{subject.subject_id}"
        )
    return row


def sdv_status(subject: Subject, table: str, record_pk: Any, using: str = "default") -> SdvStatus:
    """The SDV state of one record of ``subject`` (see :func:`sdv_states`)."""
    row = _record(subject, table, record_pk, using)
    ref = (table, str(row.pk))
    return sdv_states(subject.subject_id, {ref: record_values(table, row)}, using)[ref]


def verify_record(
    user: Any,
    subject: Subject,
    table: str,
    record_pk: Any,
    seen_sha256: str,
    note: str = "",
    *,
    using: str | None = None,
) -> SourceVerification:
    """Mark one record of ``subject`` as source-verified by ``user``.

    Parameters
    ----------
    user : User
        The monitor; needs ``can_verify_source`` at the subject's site.
    subject : Subject
    table : str
        A subject table of the data dictionary.
    record_pk : int or str
        Primary key of the record; it must belong to ``subject``.
    seen_sha256 : str
        :func:`record_sha256` of the values the monitor compared (the page
        sends it back); the mark is refused when the record differs now.
    note : str
        Optional note (recorded as the audit entry's reason).
    using : str, optional

    Returns
    -------
    SourceVerification

    Raises
    ------
    PermissionDenied
        No ``can_verify_source`` at the subject's site.
    SdvRefusedError
        Unknown table, a record not of this subject, or changed since it was shown.
    """
    alias = using or getattr(getattr(user, "_state", None), "db", None) or "default"
    require_permission(user, "can_verify_source", subject.site_id, alias)
    note = (note or "").strip()
    with pinned_database(alias), transaction.atomic(using=alias):
        # lock the audit chain head: a concurrent audited change of the record queues behind
        # this transaction, so none can slip between hashing the record and the audit entry
        AuditChainHead.objects.using(alias).select_for_update().filter(pk=1).first()
        row = _record(subject, table, record_pk, alias)
        digest = record_sha256(subject.subject_id, table, record_values(table, row))
        if digest != (seen_sha256 or "").strip():
            raise SdvRefusedError(
                f"{table} {row.audit_key()} changed since it was shown to you: review the "
                "values again before marking them verified (nothing was marked)"
            )
        entry = record_event(
            user,
            Action.SOURCE_VERIFIED,
            using=alias,
            table_name=table,
            record_pk=str(row.pk),
            record_key=row.audit_key(),
            subject_id=subject.subject_id,
            field_name="",
            new_value=digest,
            reason=note or DEFAULT_NOTE,
            detail="content=sha256 of the record's dictionary values (sdv.service.record_sha256)",
        )
        mark = SourceVerification(
            subject_id=subject.subject_id,
            table_name=table,
            record_pk=str(row.pk),
            record_key=row.audit_key(),
            verified_by=user,
            verified_by_username=user.get_username(),
            verified_at=entry.timestamp,
            content_sha256=digest,
            note=note,
            audit_seq=entry.seq,
        )
        with allow_audited_write():
            mark.save(using=alias)
    return mark


def marks_of(subject_id: str, table: str, record_pk: Any, using: str = "default") -> Iterable[Any]:
    """Every mark of one record, newest first (the record's SDV history)."""
    return SourceVerification.objects.using(using).filter(
        subject_id=subject_id, table_name=table, record_pk=str(record_pk)
    )
