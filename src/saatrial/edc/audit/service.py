"""The audited write API: every change to a clinical record goes through here.

:func:`audited_save` and :func:`audited_delete` save or delete one model
instance and append one :class:`~saatrial.edc.audit.models.AuditEntry` per
changed field, in ONE database transaction: either both the row and its audit
entries are stored, or neither. :func:`record_change` and
:func:`record_event` append entries for changes made elsewhere (user
accounts, logins, exports).

Rules enforced here (refusals raise before anything is written):

- an update or delete of a saved record needs a non-blank reason
  (:class:`ReasonRequiredError`);
- a model may refuse a write (locked subject or study) through its
  ``write_refusal(action, changed_fields)`` method (:class:`RecordLockedError`);
- the row must pass the model's validation (``full_clean``: types, code lists,
  hard ranges, required fields, keys) - :class:`django.core.exceptions.ValidationError`.

Audited models are read through these hooks (all optional):

``audit_table`` (str)
    Table name recorded (default ``_meta.db_table``).
``audit_key()`` (str)
    Natural key recorded as ``record_key``.
``audit_subject_id()`` (str)
    Subject the row belongs to.
``AUDIT_MASKED`` (tuple of field names)
    Values recorded as ``<hidden>`` (password hashes).
``AUDIT_IGNORED`` (tuple of field names)
    Fields not recorded (``last_login``).

Examples
--------
In a view::

    lab.value = 7.4
    audited_save(lab, request.user, reason="transcription error, see source")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, router, transaction
from django.utils import timezone

from saatrial.edc.audit.chain import GENESIS_HASH, entry_hash, timestamp_text, value_text
from saatrial.edc.audit.context import (
    Actor,
    actor_of,
    allow_audited_write,
    pinned_database,
)
from saatrial.edc.audit.models import Action, AuditChainHead, AuditEntry

__all__ = [
    "AuditChainError",
    "AuditError",
    "ChangeRecord",
    "FieldChange",
    "PendingEntry",
    "ReasonRequiredError",
    "RecordLockedError",
    "UnauditedWriteError",
    "append_entries",
    "audit_text",
    "audited_delete",
    "audited_save",
    "field_values",
    "record_change",
    "record_event",
]

MASK = "<hidden>"


class AuditError(Exception):
    """Base class of the audit service's refusals."""


class ReasonRequiredError(AuditError, ValueError):
    """A change or deletion of a saved record was attempted without a reason."""


class RecordLockedError(AuditError, PermissionError):
    """The record (its subject or the study) is locked against changes."""


class UnauditedWriteError(AuditError, RuntimeError):
    """A clinical model was saved or deleted without going through the audit service."""


class AuditChainError(AuditError, RuntimeError):
    """The audit chain cannot be extended safely (its head row is missing)."""


@dataclass(frozen=True)
class FieldChange:
    """One field's change: name, value before, value after (Python values; None = empty)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class PendingEntry:
    """An audit entry before it is chained (no seq, timestamp or hashes yet)."""

    action: str
    table_name: str = ""
    record_pk: str = ""
    record_key: str = ""
    subject_id: str = ""
    field_name: str = ""
    old_value: str | None = None
    new_value: str | None = None
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True)
class ChangeRecord:
    """What an audited write did.

    Attributes
    ----------
    action : str
        ``create``, ``update``, ``delete``, or ``none`` (an update that changed nothing).
    table : str
        Audited table name.
    record_pk : str
        Primary key of the row.
    changes : tuple of FieldChange
        The fields written, in model order.
    entries : tuple of AuditEntry
        The audit entries appended (one per change).
    reason : str
        The reason given.
    """

    action: str
    table: str
    record_pk: str
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)
    entries: tuple[AuditEntry, ...] = field(default_factory=tuple)
    reason: str = ""

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """Names of the changed fields."""
        return tuple(c.field for c in self.changes)


# --- the chain ------------------------------------------------------------------------------
def _lock_head(alias: str) -> AuditChainHead:
    """The chain head, locked for this transaction (created on the first entry ever)."""
    heads = AuditChainHead.objects.using(alias).select_for_update()
    head = heads.filter(pk=1).first()
    if head is not None:
        return head
    count = AuditEntry.objects.using(alias).count()
    if count:
        raise AuditChainError(
            f"audit chain head row is missing while {count} audit entries exist "
            f"(database {alias!r}); nothing more can be chained - run `saatrial audit verify`"
        )
    try:
        with transaction.atomic(using=alias):
            AuditChainHead.objects.using(alias).create(pk=1, last_seq=0, last_hash=GENESIS_HASH)
    except IntegrityError:
        pass  # another transaction created it first; lock theirs
    return heads.get(pk=1)


def append_entries(
    actor: Actor,
    pending: Sequence[PendingEntry],
    *,
    using: str = "default",
    timestamp: dt.datetime | None = None,
) -> list[AuditEntry]:
    """Chain and store ``pending`` entries (one transaction, chain head locked).

    Parameters
    ----------
    actor : Actor
        Who.
    pending : sequence of PendingEntry
        What, in order.
    using : str
        Database alias.
    timestamp : datetime, optional
        When (aware); default now (UTC). All entries of one call share it.

    Returns
    -------
    list of AuditEntry
        The stored entries with ``seq``, ``prev_hash`` and ``hash``.
    """
    if not pending:
        return []
    moment = timestamp or timezone.now()
    stamp = timestamp_text(moment)
    with transaction.atomic(using=using):
        head = _lock_head(using)
        seq, prev = head.last_seq, head.last_hash
        rows: list[AuditEntry] = []
        for p in pending:
            seq += 1
            payload = {
                "seq": seq,
                "timestamp": stamp,
                "user_id": actor.user_id,
                "username": actor.username,
                "action": p.action,
                "table_name": p.table_name,
                "record_pk": p.record_pk,
                "record_key": p.record_key,
                "subject_id": p.subject_id,
                "field_name": p.field_name,
                "old_value": p.old_value,
                "new_value": p.new_value,
                "reason": p.reason,
                "detail": p.detail,
                "prev_hash": prev,
            }
            digest = entry_hash(payload)
            rows.append(
                AuditEntry(**{**payload, "timestamp": moment, "prev_hash": prev, "hash": digest})
            )
            prev = digest
        with allow_audited_write():
            AuditEntry.objects.using(using).bulk_create(rows, batch_size=500)
        AuditChainHead.objects.using(using).filter(pk=1).update(last_seq=seq, last_hash=prev)
    return rows


# --- describing a model row -----------------------------------------------------------------
def _tracked_fields(model: type[models.Model]) -> list[models.Field]:
    ignored = set(getattr(model, "AUDIT_IGNORED", ()))
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in ignored and f.attname not in ignored
    ]


def field_values(instance: models.Model) -> dict[str, Any]:
    """Audited field values of ``instance`` by attname (foreign keys as their key value)."""
    return {f.attname: getattr(instance, f.attname) for f in _tracked_fields(type(instance))}


def _empty(value: Any) -> bool:
    return value is None or value == ""


def audit_text(instance_or_model: Any, name: str, value: Any) -> str | None:
    """The text recorded for field ``name`` = ``value`` (None if empty; masked fields hidden)."""
    if _empty(value):
        return None
    masked = set(getattr(instance_or_model, "AUDIT_MASKED", ()))
    return MASK if name in masked else value_text(value)


def _table(instance: models.Model) -> str:
    return str(getattr(instance, "audit_table", None) or instance._meta.db_table)


def _key(instance: models.Model) -> str:
    method = getattr(instance, "audit_key", None)
    return str(method()) if callable(method) else ""


def _subject(instance: models.Model) -> str:
    method = getattr(instance, "audit_subject_id", None)
    value = method() if callable(method) else None
    return "" if value is None else str(value)


def _alias(instance: models.Model, using: str | None, user: Any = None) -> str:
    """Explicit alias, else the instance's database, else the user's, else the router's."""
    user_db = getattr(getattr(user, "_state", None), "db", None)
    return (
        using
        or instance._state.db
        or user_db
        or router.db_for_write(type(instance), instance=instance)
    )


def _diff(
    instance: models.Model, old: Mapping[str, Any], new: Mapping[str, Any], creating: bool
) -> list[FieldChange]:
    changes = []
    for name, value in new.items():
        before = None if creating else old.get(name)
        if creating:
            if not _empty(value):
                changes.append(FieldChange(name, None, value))
        elif not (_empty(before) and _empty(value)) and before != value:
            changes.append(FieldChange(name, before, value))
    return changes


def record_change(
    user: Any,
    instance: models.Model,
    action: str,
    reason: str,
    changes: Iterable[FieldChange | tuple[str, Any, Any]],
    *,
    using: str | None = None,
    detail: str = "",
) -> ChangeRecord:
    """Append one audit entry per changed field of ``instance`` (the row is NOT saved here).

    Use it for writes made outside :func:`audited_save` (signal handlers,
    bulk loads) inside the same transaction as the write.

    Parameters
    ----------
    user : User, Actor or None
        Who (None = the current actor, see :mod:`saatrial.edc.audit.context`).
    instance : Model
        The row (saved, so that it has a primary key; or just deleted).
    action : {"create", "update", "delete"}
    reason : str
        Why; required for ``update`` and ``delete``.
    changes : iterable of FieldChange or (field, old, new)
        Python values; masked fields are recorded as ``<hidden>``.
    using : str, optional
        Database alias (default: the instance's).
    detail : str
        Extra context recorded with every entry.

    Returns
    -------
    ChangeRecord

    Raises
    ------
    ReasonRequiredError
        ``update``/``delete`` without a reason.
    """
    if action not in (Action.CREATE, Action.UPDATE, Action.DELETE):
        raise ValueError(f"record_change: action must be create, update or delete, not {action!r}")
    reason = (reason or "").strip()
    table = _table(instance)
    if action != Action.CREATE and not reason:
        raise ReasonRequiredError(
            f"{table} {_key(instance) or instance.pk}: a reason is required to {action} "
            "a saved record"
        )
    alias = _alias(instance, using, user)
    items = [c if isinstance(c, FieldChange) else FieldChange(*c) for c in changes]
    pending = [
        PendingEntry(
            action=str(action),
            table_name=table,
            record_pk="" if instance.pk is None else str(instance.pk),
            record_key=_key(instance),
            subject_id=_subject(instance),
            field_name=c.field,
            old_value=audit_text(instance, c.field, c.old),
            new_value=audit_text(instance, c.field, c.new),
            reason=reason,
            detail=detail,
        )
        for c in items
    ]
    entries = append_entries(actor_of(user), pending, using=alias)
    return ChangeRecord(str(action), table, str(instance.pk), tuple(items), tuple(entries), reason)


def record_event(
    user: Any,
    action: str,
    *,
    using: str = "default",
    table_name: str = "",
    record_pk: str = "",
    record_key: str = "",
    subject_id: str = "",
    field_name: str = "",
    old_value: str | None = None,
    new_value: str | None = None,
    reason: str = "",
    detail: str = "",
) -> AuditEntry:
    """Append one audit entry for an event that is not a field change (login, export ...).

    Parameters
    ----------
    user : User, Actor or None
        Who (a failed login passes ``Actor(None, typed_username)``).
    action : str
        One of :class:`~saatrial.edc.audit.models.Action`.
    using : str
        Database alias.

    Returns
    -------
    AuditEntry
    """
    known = [a.value for a in Action]
    if action not in known:
        raise ValueError(f"record_event: unknown action {action!r}; known: {known}")
    entry = PendingEntry(
        action=action,
        table_name=table_name,
        record_pk=record_pk,
        record_key=record_key,
        subject_id=subject_id,
        field_name=field_name,
        old_value=old_value,
        new_value=new_value,
        reason=(reason or "").strip(),
        detail=detail,
    )
    return append_entries(actor_of(user), [entry], using=using)[0]


# --- the write API ---------------------------------------------------------------------------
def _history_user(user: Any, alias: str) -> Any:
    user_model = get_user_model()
    if isinstance(user, user_model) and user.pk is not None:
        return user
    return None


def _refusal(instance: models.Model, action: str, fields: set[str], alias: str) -> str | None:
    method = getattr(instance, "write_refusal", None)
    return method(action, frozenset(fields), alias) if callable(method) else None


def audited_save(
    instance: models.Model, user: Any, reason: str = "", *, using: str | None = None
) -> ChangeRecord:
    """Validate and save ``instance`` and audit every changed field, in one transaction.

    Parameters
    ----------
    instance : Model
        A new (create) or loaded (update) row of an audited model.
    user : User, Actor or None
        Who makes the change.
    reason : str
        Why; optional for the first save (create), required for every update.
    using : str, optional
        Database alias (default: the instance's, else ``default``).

    Returns
    -------
    ChangeRecord
        ``action`` is ``none`` when an update changed nothing (nothing written).

    Raises
    ------
    ReasonRequiredError
        Update without a reason (checked first: nothing is read or written).
    RecordLockedError
        The model refuses the write (locked subject or study).
    django.core.exceptions.ValidationError
        The row is invalid (``full_clean``).
    django.core.exceptions.ObjectDoesNotExist
        An update of a row that is no longer in the database.
    """
    alias = _alias(instance, using, user)
    creating = instance._state.adding
    action = Action.CREATE if creating else Action.UPDATE
    reason = (reason or "").strip()
    table = _table(instance)
    if not creating and not reason:
        raise ReasonRequiredError(
            f"{table} {_key(instance) or instance.pk}: a reason is required to change "
            "a saved record (21 CFR 11.10(e), Annex 11 §9); nothing was saved"
        )
    model = type(instance)
    with pinned_database(alias), transaction.atomic(using=alias):
        old: dict[str, Any] = {}
        if not creating:
            attnames = [f.attname for f in _tracked_fields(model)]
            # lock the row so that a concurrent edit cannot slip between read and write
            old = (
                model._base_manager.using(alias)
                .select_for_update()
                .values(*attnames)
                .get(pk=instance.pk)
            )
        instance._state.db = alias  # validation queries (keys, references) use this database
        instance.full_clean()
        changes = _diff(instance, old, field_values(instance), creating)
        if not creating and not changes:
            return ChangeRecord("none", table, str(instance.pk), (), (), reason)
        refusal = _refusal(instance, action, {c.field for c in changes}, alias)
        if refusal:
            raise RecordLockedError(f"{table} {_key(instance) or instance.pk}: {refusal}")
        instance._change_reason = reason  # simple-history
        instance._history_user = _history_user(user, alias)
        with allow_audited_write():
            instance.save(using=alias)
        return record_change(user, instance, action, reason, changes, using=alias)


def audited_delete(
    instance: models.Model, user: Any, reason: str, *, using: str | None = None
) -> ChangeRecord:
    """Delete ``instance`` and audit the value of every field it had, in one transaction.

    Parameters
    ----------
    instance : Model
        A saved row of an audited model.
    user : User, Actor or None
    reason : str
        Why (required).
    using : str, optional

    Returns
    -------
    ChangeRecord

    Raises
    ------
    ReasonRequiredError
        No reason (nothing is deleted).
    RecordLockedError
        Locked subject or study.
    django.db.models.ProtectedError
        Other rows still refer to this one (delete those first).
    """
    alias = _alias(instance, using, user)
    reason = (reason or "").strip()
    table = _table(instance)
    if not reason:
        raise ReasonRequiredError(
            f"{table} {_key(instance) or instance.pk}: a reason is required to delete a record; "
            "nothing was deleted"
        )
    if instance.pk is None:
        raise ValueError(f"{table}: cannot delete a record that was never saved")
    model = type(instance)
    with pinned_database(alias), transaction.atomic(using=alias):
        attnames = [f.attname for f in _tracked_fields(model)]
        old = (
            model._base_manager.using(alias)
            .select_for_update()
            .values(*attnames)
            .get(pk=instance.pk)
        )
        changes = [FieldChange(n, v, None) for n, v in old.items() if not _empty(v)]
        refusal = _refusal(instance, Action.DELETE, set(old), alias)
        if refusal:
            raise RecordLockedError(f"{table} {_key(instance) or instance.pk}: {refusal}")
        pk = instance.pk
        instance._change_reason = reason
        instance._history_user = _history_user(user, alias)
        with allow_audited_write():
            instance.delete(using=alias)
        instance.pk = pk  # for the audit entries
        record = record_change(user, instance, Action.DELETE, reason, changes, using=alias)
        instance.pk = None
        return record
