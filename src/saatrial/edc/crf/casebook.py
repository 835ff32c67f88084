"""A subject's casebook read from the database: its rows per dictionary table.

:func:`subject_records` returns the subject's own rows (the ``subjects`` row
and every table keyed by ``subject_id``) as plain Python values keyed by
dictionary field names; :func:`subject_study` wraps them, with the study-level
tables the rules need, in a :class:`~saatrial.study.StudyData` (typed frames),
so that the clinical rules run on exactly what the eCRF holds.
"""

from __future__ import annotations

from typing import Any

from saatrial.edc.load import model_field_names
from saatrial.edc.trial.models import Subject, TrialModel, trial_models
from saatrial.study import StudyData

__all__ = [
    "STUDY_LEVEL_TABLES",
    "subject_models",
    "subject_records",
    "subject_study",
    "subject_table_names",
]

#: Tables that belong to the study, not to a subject (setup data).
STUDY_LEVEL_TABLES: tuple[str, ...] = ("study", "sites", "arms", "dose_levels", "provenance")


def subject_models() -> tuple[type[TrialModel], ...]:
    """The models of subject data, in dictionary order: ``subjects`` and its child tables."""
    return tuple(m for m in trial_models() if m.DICTIONARY_TABLE not in STUDY_LEVEL_TABLES)


def subject_table_names() -> tuple[str, ...]:
    """Dictionary names of the subject tables (``subjects``, ``screening``, ``labs`` ...)."""
    return tuple(m.DICTIONARY_TABLE for m in subject_models())


def subject_records(subject_id: str, using: str = "default") -> dict[str, list[dict[str, Any]]]:
    """The subject's rows per table, dictionary field names -> Python values.

    Parameters
    ----------
    subject_id : str
    using : str
        Database alias.

    Returns
    -------
    dict of str to list of dict
        Every subject table (empty lists included), rows in primary-key order.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for model in subject_models():
        names = list(model_field_names(model))
        rows = model.objects.using(using).filter(subject_id=subject_id).order_by("pk")
        out[model.DICTIONARY_TABLE] = list(rows.values(*names))
    return out


def subject_study(subject: Subject, using: str = "default") -> StudyData:
    """The subject's casebook with the study, its site, arms and dose levels, as StudyData."""
    records: dict[str, list[dict[str, Any]]] = dict(subject_records(subject.subject_id, using))
    for model in trial_models():
        table = model.DICTIONARY_TABLE
        if table not in ("study", "sites", "arms", "dose_levels"):
            continue
        rows = model.objects.using(using).order_by("pk").values(*model_field_names(model))
        if table == "sites":
            rows = rows.filter(site_id=subject.site_id)
        records[table] = list(rows)
    return StudyData.from_records(records, source=f"edc:{using}:{subject.subject_id}")
