"""Raise, answer, re-open and close data queries: permission-checked and audited.

Every function runs in one transaction: the query row, its history row and
one audit entry (:func:`~saatrial.edc.audit.service.record_event`) are
stored together or not at all. Permissions come from the role table
(:func:`~saatrial.edc.accounts.access.require_permission`, at the subject's
site) and the workflow table (:mod:`saatrial.edc.queries.workflow`).

Audit entries of queries: ``table_name`` ``data_query``, ``record_pk`` the
query id, ``record_key`` ``<table>|<record key>|<field>``, ``subject_id``,
``field_name`` ``status``, old and new overall status, ``reason`` the text
(question, answer, re-open reason or closing note), ``detail`` JSON with
both statuses and, for a raise, the audit entry that caused it.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from saatrial.edc.accounts.access import require_permission
from saatrial.edc.audit.context import allow_audited_write, pinned_database
from saatrial.edc.audit.models import Action, AuditEntry
from saatrial.edc.audit.service import record_event
from saatrial.edc.queries.models import DataQuery
from saatrial.edc.queries.workflow import load_workflow, overall_status, plan_transition
from saatrial.edc.trial.models import Subject, model_for_table
from saatrial.study.dictionary import load_dictionary

__all__ = ["QueryRefusedError", "answer_query", "raise_query", "transition_query"]

AUDIT_TABLE = "data_query"


class QueryRefusedError(ValueError):
    """A query action that cannot be carried out (message says why; nothing written)."""


def _alias(user: Any, using: str | None) -> str:
    return using or getattr(getattr(user, "_state", None), "db", None) or "default"


def _audit(
    user: Any,
    query: DataQuery,
    action: str,
    old_status: str | None,
    text: str,
    using: str,
    **extra: Any,
) -> AuditEntry:
    detail = {"site_status": query.site_status, "dm_status": query.dm_status, **extra}
    return record_event(
        user,
        action,
        using=using,
        table_name=AUDIT_TABLE,
        record_pk=str(query.pk),
        record_key=f"{query.table_name}|{query.record_key}|{query.field_name}",
        subject_id=query.subject_id,
        field_name="status",
        old_value=old_status,
        new_value=query.status,
        reason=text,
        detail=json.dumps(detail, sort_keys=True),
    )


def _save(query: DataQuery, user: Any, reason: str, using: str) -> None:
    query._history_user = user if getattr(user, "pk", None) is not None else None
    query._change_reason = reason
    with allow_audited_write():
        query.save(using=using)


def raise_query(
    user: Any,
    subject: Subject,
    table: str,
    record_pk: Any,
    field_name: str,
    text: str,
    *,
    origin: str = "manual",
    audit_entry: AuditEntry | None = None,
    using: str | None = None,
) -> DataQuery:
    """Open a query on ``table`` row ``record_pk`` (field ``field_name``) of ``subject``.

    Parameters
    ----------
    user : User
        Who raises it. A manual query needs ``can_raise_query`` at the
        subject's site; a query opened by a confirmed warning (``origin``
        soft_range/dose) is raised on behalf of the user who saved the value
        (who held the right to save it).
    subject : Subject
    table : str
        Dictionary table of the record (a subject table).
    record_pk : int or str
        Primary key of the record; it must belong to ``subject``.
    field_name : str
        A dictionary field of ``table`` ('' = the whole record).
    text : str
        The question (required).
    origin : str
        A :class:`~saatrial.edc.queries.models.QueryOrigin` code (default ``manual``).
    audit_entry : AuditEntry, optional
        The audited change that caused the query.
    using : str, optional

    Returns
    -------
    DataQuery

    Raises
    ------
    PermissionDenied
        The user may not raise queries at the subject's site.
    QueryRefusedError
        Empty text, unknown table/field, or a record not of this subject.
    """
    alias = _alias(user, using)
    text = (text or "").strip()
    if origin == "manual":
        require_permission(user, load_workflow().raise_permission, subject.site_id, alias)
    if not text:
        raise QueryRefusedError("a query needs a text (the question to the site)")
    dictionary = load_dictionary()
    if table not in dictionary.tables:
        raise QueryRefusedError(f"query: unknown table {table!r}")
    if field_name and field_name not in dictionary.table(table).fields:
        raise QueryRefusedError(f"query: {table} has no field {field_name!r}")
    model = model_for_table(table)
    row = model.objects.using(alias).filter(pk=record_pk).first()
    owner = getattr(row, "subject_id", None)  # the subjects row itself, or a child row's key
    if row is None or owner != subject.subject_id:
        raise QueryRefusedError(
            f"query: {table} record {record_pk} is not a record of subject {subject.subject_id}"
        )
    workflow = load_workflow()
    opening = workflow.statuses["open"]
    now = timezone.now()
    with pinned_database(alias), transaction.atomic(using=alias):
        query = DataQuery(
            subject_id=subject.subject_id,
            table_name=table,
            record_pk=str(row.pk),
            record_key=row.audit_key(),
            field_name=field_name,
            text=text,
            origin=origin,
            raised_by=user,
            raised_by_username=user.get_username(),
            raised_at=now,
            site_status=opening["site_status"],
            dm_status=opening["dm_status"],
            audit_entry=audit_entry,
        )
        _save(query, user, text, alias)
        extra: dict[str, Any] = {"origin": str(origin)}
        if audit_entry is not None:
            extra["caused_by_audit_seq"] = int(audit_entry.seq)
        _audit(user, query, Action.QUERY_RAISED, None, text, alias, **extra)
    return query


def transition_query(
    user: Any, query: DataQuery, action: str, text: str = "", *, using: str | None = None
) -> DataQuery:
    """Answer, re-open or close ``query`` (the workflow table says who may, and from where).

    Parameters
    ----------
    user : User
    query : DataQuery
    action : {"answer", "reopen", "close"}
    text : str
        The answer / reason to re-open / closing note (required where the
        workflow says so).
    using : str, optional

    Returns
    -------
    DataQuery
        The query as stored after the action.

    Raises
    ------
    PermissionDenied
        The user lacks the action's permission at the subject's site.
    QueryRefusedError
        Unknown action, not allowed from the current status, or text missing.
    """
    alias = _alias(user, using)
    workflow = load_workflow()
    transition = workflow.transitions.get(action)
    if transition is None:
        raise QueryRefusedError(
            f"unknown query action {action!r} (known: {', '.join(workflow.transitions)})"
        )
    subject_site = (
        Subject.objects.using(alias)
        .values_list("site_id", flat=True)
        .get(subject_id=query.subject_id)
    )
    require_permission(user, transition.permission, subject_site, alias)
    text = (text or "").strip()
    if transition.text_required and not text:
        raise QueryRefusedError(f"{action}: a text is required ({transition.label.lower()})")
    with pinned_database(alias), transaction.atomic(using=alias):
        current = DataQuery.objects.using(alias).select_for_update().get(pk=query.pk)
        plan = plan_transition(current.site_status, current.dm_status, action, workflow)
        if not plan.allowed:
            raise QueryRefusedError(f"query {current.pk}: {plan.reason}")
        old = overall_status(current.site_status, current.dm_status, workflow)
        now = timezone.now()
        current.site_status, current.dm_status = plan.site_status, plan.dm_status
        if action == "answer":
            current.answer, current.answered_by, current.answered_at = text, user, now
        elif action == "close":
            current.close_note, current.closed_by, current.closed_at = text, user, now
        _save(current, user, text or transition.label, alias)
        _audit(user, current, transition.audit_action, old, text, alias, transition=action)
    return current


def answer_query(user: Any, query: DataQuery, text: str, *, using: str | None = None) -> DataQuery:
    """The site's answer (:func:`transition_query` with ``answer``)."""
    return transition_query(user, query, "answer", text, using=using)
