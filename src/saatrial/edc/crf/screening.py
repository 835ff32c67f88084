"""Live screening assessment: severity and eligibility from a subject's saved data.

:func:`assess_screening` runs the clinical rules (:mod:`saatrial.rules.severity`,
:mod:`saatrial.rules.eligibility`) with the protocol's parameters on a subject's
casebook (a :class:`~saatrial.study.StudyData`, from
:func:`saatrial.edc.crf.casebook.subject_study`). The screening page calls it
on every view, so the result always reflects the saved data.

Baseline is study day 1, the first rATG dose (D7). Before the first dose is
recorded the assessment uses a *planned* first dose date: the one the user
gives, else the screening date (said so in ``baseline_basis``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from saatrial.protocol.model import Protocol
from saatrial.rules.eligibility import (
    Eligibility,
    assess_eligibility,
    eligibility_inputs_from_tables,
)
from saatrial.rules.frames import first_ratg_date
from saatrial.rules.severity import Severity, severity_at
from saatrial.study import StudyData

__all__ = ["ScreeningAssessment", "assess_screening"]


@dataclass(frozen=True)
class ScreeningAssessment:
    """Severity and eligibility of one subject, with what they were judged on.

    Attributes
    ----------
    subject_id : str
    baseline_date : datetime.date or None
        The date severity and eligibility are judged at (study day 1 or the
        planned first rATG dose).
    baseline_basis : str
        Where ``baseline_date`` comes from, in words.
    severity : Severity or None
        None when it could not be computed (``severity_error`` says why).
    severity_error : str
    eligibility : Eligibility or None
        None when it could not be computed (``eligibility_error`` says why).
    eligibility_error : str
    """

    subject_id: str
    baseline_date: dt.date | None
    baseline_basis: str
    severity: Severity | None
    severity_error: str
    eligibility: Eligibility | None
    eligibility_error: str


def _screening_date(study: StudyData, subject_id: str) -> dt.date | None:
    rows = study["screening"]
    rows = rows[rows["subject_id"].astype("string") == subject_id]
    if rows.empty or pd.isna(rows["screening_date"].iloc[0]):
        return None
    return pd.Timestamp(rows["screening_date"].iloc[0]).date()


def assess_screening(
    study: StudyData,
    subject_id: str,
    protocol: Protocol,
    planned_day1: dt.date | None = None,
) -> ScreeningAssessment:
    """Severity at baseline and eligibility of ``subject_id``, every failed criterion with why.

    Parameters
    ----------
    study : StudyData
        At least the subject's rows of subjects, screening, labs, transfusions,
        marrow_exams and exposures.
    subject_id : str
    protocol : Protocol
        Supplies the eligibility parameters (D4-D6) and the D2 windows.
    planned_day1 : datetime.date, optional
        Planned first rATG dose, used only while no rATG dose is recorded.

    Returns
    -------
    ScreeningAssessment
    """
    day1 = first_ratg_date(study["exposures"], subject_id)
    exposures = study["exposures"]
    if day1 is not None:
        baseline: dt.date | None = day1
        basis = f"study day 1 = first rATG dose {day1.isoformat()} (D7)"
    else:
        screened = _screening_date(study, subject_id)
        baseline = planned_day1 or screened
        if baseline is None:
            msg = (
                "no rATG dose recorded and no screening record: no baseline date to judge at "
                "(enter the screening form or give a planned first rATG dose)"
            )
            return ScreeningAssessment(subject_id, None, msg, None, msg, None, msg)
        source = "given" if planned_day1 else "the screening date"
        basis = (
            f"planned first rATG dose {baseline.isoformat()} ({source}); no rATG dose "
            "recorded yet (D7)"
        )
        # D6: eligibility is judged against the first (or planned first) rATG dose
        planned = pd.DataFrame(
            {
                "subject_id": [subject_id],
                "drug": ["RATG"],
                "start_date": [pd.Timestamp(baseline)],
            }
        )
        exposures = pd.concat([exposures[["subject_id", "drug", "start_date"]], planned])

    assert baseline is not None
    decisions = protocol.decisions
    severity: Severity | None = None
    severity_error = ""
    try:
        severity = severity_at(
            subject_id,
            baseline,
            study["labs"],
            study["transfusions"],
            study["marrow_exams"],
            plt_pretransfusion_days=int(decisions.get("D2_plt_pretransfusion_days", 3)),  # D2
            arc_pretransfusion_days=int(decisions.get("D2_arc_pretransfusion_days", 14)),  # D2
        )
    except ValueError as err:
        severity_error = str(err)

    eligibility: Eligibility | None = None
    eligibility_error = ""
    try:
        inputs = eligibility_inputs_from_tables(
            subject_id,
            study["subjects"],
            study["screening"],
            study["labs"],
            exposures,
            severity,
        )
        eligibility = assess_eligibility(inputs, protocol.eligibility)
    except ValueError as err:
        eligibility_error = str(err)
        if "screening" in eligibility_error and "expected 1 row, found 0" in eligibility_error:
            eligibility_error = "no screening record: enter the screening form first"
    return ScreeningAssessment(
        subject_id, baseline, basis, severity, severity_error, eligibility, eligibility_error
    )
