"""Move a study between :class:`~saatrial.study.StudyData` and the eCRF database.

:func:`load_study` inserts a whole validated study into an empty database in
one transaction, audited as creates (one audit entry per non-empty field of
every row, plus a history row per row). :func:`export_study` reads the
database (or one site, or what a user may see) back into a StudyData, which
the CSV/XLSX writers and ``saatrial report`` take as they take any study.
Round trip: the bundled study loaded and exported writes CSV files
byte-identical to the bundled ones (every table, provenance included).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.db import transaction
from django.utils import timezone

from saatrial.edc.audit.context import actor_of, allow_audited_write, pinned_database
from saatrial.edc.audit.models import Action
from saatrial.edc.audit.service import (
    PendingEntry,
    append_entries,
    audit_text,
    field_values,
    record_event,
)
from saatrial.edc.trial.models import Study, Subject, TrialModel, trial_models
from saatrial.study import StudyData, validate
from saatrial.study.problems import Problem
from saatrial.study.values import is_missing

__all__ = ["LoadRefusedError", "LoadResult", "export_study", "load_study"]


class LoadRefusedError(ValueError):
    """A study was not loaded; ``problems`` lists why (nothing was written).

    Attributes
    ----------
    problems : tuple of Problem or str
        Validation errors (``file:row: field: rule: value``) or the reason.
    """

    def __init__(self, summary: str, problems: tuple[Problem | str, ...] = ()):
        self.problems = problems
        lines = [summary, *(str(p) for p in problems)]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_study` stored.

    Attributes
    ----------
    study_id : str
    rows : Mapping[str, int]
        Rows inserted per dictionary table.
    audit_entries : int
        Audit entries appended.
    warnings : tuple of Problem
        Validation warnings of the loaded study (soft ranges ...).
    """

    study_id: str
    rows: Mapping[str, int]
    audit_entries: int
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


def _python(field_type: str, value: Any) -> Any:
    """A StudyData cell as the value a model field takes (None when missing)."""
    if is_missing(value):
        return None
    if field_type == "date":
        return pd.Timestamp(value).date()
    if field_type == "integer":
        return int(value)
    if field_type == "number":
        return float(value)
    if field_type == "boolean":
        return bool(value)
    return str(value)


def _instances(study: StudyData, model: type[TrialModel]) -> list[TrialModel]:
    spec = study.spec(model.DICTIONARY_TABLE)
    frame = study[model.DICTIONARY_TABLE]
    text_fields = {n for n, f in spec.fields.items() if f.type in ("string", "code")}
    objects = []
    for record in frame.to_dict("records"):
        values = {}
        for name, f in spec.fields.items():
            value = _python(f.type, record[name])
            if value is None and name in text_fields:
                value = ""  # optional text is stored as "" (Django convention)
            values[name] = value
        objects.append(model(**values))
    return objects


def _history_rows(
    model: type[TrialModel], objects: list[TrialModel], user: Any, reason: str
) -> list:
    history = model.history.model
    now = timezone.now()
    history_user = (
        user if getattr(user, "pk", None) is not None and hasattr(user, "_meta") else None
    )
    return [
        history(
            history_date=now,
            history_user=history_user,
            history_change_reason=reason,
            history_type="+",
            **{f.attname: getattr(obj, f.attname) for f in history.tracked_fields},
        )
        for obj in objects
    ]


def load_study(
    study: StudyData,
    user: Any = None,
    reason: str = "initial load",
    *,
    using: str = "default",
) -> LoadResult:
    """Insert a whole study into an empty database, audited, in one transaction.

    Parameters
    ----------
    study : StudyData
        The study; it must validate without errors (warnings are allowed and
        returned).
    user : User, Actor or None
        Who loads (None: the current actor, e.g. ``cli:<os user>``).
    reason : str
        Recorded with every audit entry and history row.
    using : str
        Database alias.

    Returns
    -------
    LoadResult

    Raises
    ------
    LoadRefusedError
        The study has validation errors (all listed), or the database already
        holds a study or subjects. Nothing is written.
    """
    report = validate(study)
    if not report.ok:
        raise LoadRefusedError(
            f"study {study.source} not loaded: {report.summary()}", report.errors
        )
    existing = Study.objects.using(using).values_list("study_id", flat=True).first()
    if existing is not None or Subject.objects.using(using).exists():
        raise LoadRefusedError(
            f"study {study.source} not loaded: the database already holds study "
            f"{existing or '(subjects without a study row)'}; load into an empty database"
        )
    actor = actor_of(user)
    counts: dict[str, int] = {}
    entries = 0
    with pinned_database(using), transaction.atomic(using=using), allow_audited_write():
        for model in trial_models():
            objects = _instances(study, model)
            counts[model.DICTIONARY_TABLE] = len(objects)
            if not objects:
                continue
            model.objects.using(using).bulk_create(objects, batch_size=500)
            if any(o.pk is None for o in objects):  # every supported backend returns ids
                raise RuntimeError(f"{model.__name__}: bulk insert did not return primary keys")
            model.history.model.objects.using(using).bulk_create(
                _history_rows(model, objects, user, reason), batch_size=500
            )
            pending = [
                PendingEntry(
                    action=Action.CREATE,
                    table_name=obj.audit_table,
                    record_pk=str(obj.pk),
                    record_key=obj.audit_key(),
                    subject_id=obj.audit_subject_id() or "",
                    field_name=name,
                    new_value=audit_text(obj, name, value),
                    reason=reason.strip(),
                )
                for obj in objects
                for name, value in field_values(obj).items()
                if value is not None and value != ""
            ]
            entries += len(append_entries(actor, pending, using=using))
    study_id = str(study["study"]["study_id"].iloc[0])
    return LoadResult(study_id, counts, entries, report.warnings)


def export_study(
    site: str | None = None,
    *,
    user: Any = None,
    using: str | None = None,
    audit: bool = True,
) -> StudyData:
    """The database (or one site, or what ``user`` may see) as a StudyData.

    Parameters
    ----------
    site : str, optional
        Only this site: its ``sites`` row, its subjects and their rows, and
        provenance rows of those subjects or of all subjects. Study, arms and
        dose levels are always complete.
    user : User, Actor or None
        A Django user: only :func:`~saatrial.edc.accounts.access.visible_subjects`
        are exported (the caller checks ``can_export``). An Actor or None: the
        whole database (command-line operators, who have the database itself).
    using : str, optional
        Database alias (default: the user's, else ``default``).
    audit : bool
        Record an ``export`` audit entry (who, scope, row counts).

    Returns
    -------
    StudyData
        ``source`` is ``edc:<alias>`` (``edc:<alias>:<site>`` for one site).

    Raises
    ------
    LookupError
        ``site`` is not a site of the database.
    """
    from django.contrib.auth.models import AbstractBaseUser

    from saatrial.edc.accounts.access import visible_sites, visible_subjects
    from saatrial.edc.trial.models import Site

    alias = using or getattr(getattr(user, "_state", None), "db", None) or "default"
    subjects = Subject.objects.using(alias).all()
    site_rows = Site.objects.using(alias).all()
    if isinstance(user, AbstractBaseUser):
        subjects = visible_subjects(user, alias)
        site_rows = visible_sites(user, alias)
    if site is not None:
        if not Site.objects.using(alias).filter(site_id=site).exists():
            known = ", ".join(Site.objects.using(alias).values_list("site_id", flat=True))
            raise LookupError(f"no site {site!r} in the database (sites: {known or 'none'})")
        subjects = subjects.filter(site_id=site)
        site_rows = site_rows.filter(site_id=site)
    subject_ids = sorted(subjects.values_list("subject_id", flat=True))
    sites = sorted(site_rows.values_list("site_id", flat=True))
    records: dict[str, list[dict[str, Any]]] = {}
    for model in trial_models():
        table = model.DICTIONARY_TABLE
        names = list(model_field_names(model))
        rows = model.objects.using(alias).order_by("pk").values(*names)
        if table == "sites":
            rows = rows.filter(site_id__in=sites)
        elif table == "subjects" or "subject" in {f.name for f in model._meta.fields}:
            rows = rows.filter(subject_id__in=subject_ids)
        elif table == "provenance":
            rows = rows.filter(subject_id__in=[*subject_ids, ""])
        records[table] = list(rows)
    scope = "all" if site is None else site
    source = f"edc:{alias}" if site is None else f"edc:{alias}:{site}"
    data = StudyData.from_records(records, source=source)
    if audit:
        counts = {t: len(r) for t, r in records.items() if r}
        record_event(
            actor_of(user),
            Action.EXPORT,
            using=alias,
            detail=json.dumps({"site": scope, "rows": counts}, sort_keys=True),
        )
    return data


def model_field_names(model: type[TrialModel]) -> tuple[str, ...]:
    """The dictionary field names of ``model`` in dictionary order (= model attnames)."""
    from saatrial.study import load_dictionary

    return load_dictionary().table(model.DICTIONARY_TABLE).field_names
