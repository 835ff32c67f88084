"""Shared set-up of the eCRF page tests: a small study, one user per role, row helpers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.service import audited_save
from saatrial.edc.load import load_study
from saatrial.edc.trial.models import Subject, model_for_table
from saatrial.study import StudyData

from .studies import minimal_study_rows

PASSWORD = "correct horse battery"
CLI = Actor(None, "cli:test")

#: username -> (role, site); site-scoped roles work at S1 ("own" site; S2 is "other").
USERS: dict[str, tuple[str, str | None]] = {
    "ivan": ("investigator", "S1"),
    "cora": ("coordinator", "S1"),
    "mona": ("monitor", "S1"),
    "dana": ("data_manager", None),
    "stan": ("statistician", None),
    "audrey": ("auditor", None),
    "adam": ("administrator", None),
}


def load_small_study(using: str = "default") -> None:
    """Sites S1 and S2, subjects S1-1, S1-2, S2-1, S2-2 (CONTROL arm, 25 kg)."""
    load_study(StudyData.from_records(minimal_study_rows(("S1", "S2"), 2)), CLI, using=using)


def make_users(using: str = "default") -> dict[str, Any]:
    """One user per role of :data:`USERS` (created audited, as the CLI would)."""
    from saatrial.edc.accounts.services import create_user

    return {
        name: create_user(name, PASSWORD, role, site, CLI, using=using)
        for name, (role, site) in USERS.items()
    }


def add_row(table: str, subject_id: str, using: str = "default", **values: Any) -> Any:
    """Insert one row of ``table`` for ``subject_id`` (audited as the CLI)."""
    model = model_for_table(table)
    subject = Subject.objects.using(using).get(subject_id=subject_id)
    row = model(subject=subject, **values)
    audited_save(row, CLI, using=using)
    return row


def lab(subject_id: str, day: str, test: str, value: float, using: str = "default", **extra: Any):
    """A lab row in the test's unit."""
    from saatrial.study.dictionary import load_dictionary

    unit = load_dictionary().lab_tests[test].unit
    return add_row(
        "labs",
        subject_id,
        using,
        lab_date=dt.date.fromisoformat(day),
        test=test,
        value=value,
        unit=unit,
        **extra,
    )


def form_data(form: Any) -> dict[str, Any]:
    """The POST data a browser would send for an unbound form as rendered (initial values)."""
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        data[name] = value
    return data
