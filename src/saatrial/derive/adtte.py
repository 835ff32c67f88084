"""ADTTE: overall survival (OS) and failure-free survival (FFS), one row per subject each.

Endpoints come from :func:`saatrial.rules.endpoints.derive_endpoints` with the
protocol's options (TRIAL.md 5): time 0 = study day 1 (first rATG dose, D7);
days = ``(ADT - STARTDT).days``; months = days / 30.4375. OS event = death from
any cause (HSCT does not censor). FFS event = the first of treatment failure
(D15: dated at the start of salvage therapy, HSCT or second-line IST; the
``first_nr_at_6_months`` option dates it at the first NR at 6 months),
relapse (D16) or death; clonal evolution only with
``D16_ffs_includes_clonal_evolution``. Censoring at the last date known alive
(loss to follow-up, last contact), never after the data cut-off.

Relapses: recorded ``RELAPSE`` events count; in addition, after a computed
response (first PR/CR in ADRS) :func:`saatrial.rules.endpoints.detect_relapse`
looks for counts back in the SAA range with renewed transfusions (D16); a
relapse found that way but not recorded is used and listed in the notes.

Subjects without a first rATG dose (no ``TRTSDT``) have no time origin: they
are left out, with a note saying so. So is a subject whose outcome events
contradict each other (e.g. an event dated before day 1); the note gives the
rule's message.

Columns
-------
========== ===================================================================
STUDYID    ``study.study_id``.
USUBJID    ``STUDYID-SUBJID``.
SUBJID     ``subjects.subject_id``.
ARMCD      Allocated arm.
TRTP       Allocated arm label.
PARAMCD    ``OS`` or ``FFS``.
PARAM      ``Overall survival (months)`` / ``Failure-free survival (months)``.
AVAL       Time in months: AVALDAY / 30.4375 (TRIAL.md 5).
AVALU      ``MONTHS``.
AVALDAY    Time in days: ``(ADT - STARTDT).days`` (day 1 itself is time 0).
STARTDT    Time origin: TRTSDT, the first rATG dose (D7).
ADT        Date of the event or of censoring.
CNSR       ADaM convention: 0 = event, 1 = censored.
EVNTDESC   What happened at ADT (the endpoint rule's reason: e.g. ``death
           (serious infection)``, ``treatment failure: HSCT (salvage start,
           D15)``, ``censored: LAST_CONTACT``).
CNSDTDSC   For censored rows, why ADT is the censoring date (same text);
           empty for events.
========== ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from saatrial.derive.common import (
    SUBJECT_ID_COLUMNS,
    Column,
    Derived,
    Note,
    build_frame,
    subject_identifiers,
)
from saatrial.derive.context import StudyContext, SubjectInfo
from saatrial.rules.endpoints import SubjectEndpoints, derive_endpoints, detect_relapse

__all__ = [
    "COLUMNS",
    "PARAMS",
    "Endpoints",
    "compute_endpoints",
    "derive_adtte",
    "subject_endpoints",
]

PARAMS = {"OS": "Overall survival (months)", "FFS": "Failure-free survival (months)"}

COLUMNS: tuple[Column, ...] = (
    *SUBJECT_ID_COLUMNS,
    Column("PARAMCD", "text", "Parameter Code"),
    Column("PARAM", "text", "Parameter"),
    Column("AVAL", "float", "Analysis Value (months)"),
    Column("AVALU", "text", "Analysis Value Unit"),
    Column("AVALDAY", "int", "Analysis Value (days)"),
    Column("STARTDT", "date", "Time-to-Event Origin Date (TRTSDT)"),
    Column("ADT", "date", "Analysis Date (event or censoring)"),
    Column("CNSR", "int", "Censor (0 = event, 1 = censored)"),
    Column("EVNTDESC", "text", "Event or Censoring Description"),
    Column("CNSDTDSC", "text", "Censor Date Description"),
)


def _first_response_date(adrs: pd.DataFrame | None, subject_id: str) -> Any:
    if adrs is None or adrs.empty:
        return None
    rows = adrs[
        (adrs["SUBJID"] == subject_id)
        & (adrs["PARAMCD"] == "RSP")
        & adrs["AVALC"].isin(["PR", "CR"])
        & adrs["ADT"].notna()
    ]
    return None if rows.empty else rows["ADT"].min().date()


@dataclass(frozen=True)
class Endpoints:
    """OS/FFS of every subject for whom they could be derived.

    Attributes
    ----------
    by_subject : Mapping[str, SubjectEndpoints]
        Subject id -> endpoints (subjects left out are absent).
    notes : tuple of Note
        Why subjects were left out; relapses found but not recorded.
    """

    by_subject: Mapping[str, SubjectEndpoints]
    notes: tuple[Note, ...]


def subject_endpoints(
    ctx: StudyContext, s: SubjectInfo, adrs: pd.DataFrame | None, notes: list[Note]
) -> SubjectEndpoints | None:
    """OS/FFS of one subject, or ``None`` (with a note) when they cannot be derived.

    Parameters
    ----------
    ctx : StudyContext
    s : SubjectInfo
    adrs : DataFrame or None
        ADRS, for the first computed response (relapse detection, D16).
    notes : list of Note
        Appended to.

    Returns
    -------
    SubjectEndpoints or None
    """
    if s.trtsdt is None:
        notes.append(
            Note(
                "ADTTE",
                s.subject_id,
                "no first rATG dose (TRTSDT): no time origin; excluded from OS and FFS",
            )
        )
        return None
    if ctx.cutoff is None:
        notes.append(Note("ADTTE", s.subject_id, "no data cut-off date: excluded"))
        return None
    events = ctx.rows("outcome_events", s.subject_id)
    relapse = None
    responded = _first_response_date(adrs, s.subject_id)
    if responded is not None:
        try:
            found = detect_relapse(
                ctx.rows("labs", s.subject_id),
                ctx.rows("transfusions", s.subject_id),
                s.subject_id,
                responded,
                until=ctx.cutoff,
                window_days=ctx.ti_window_days,  # D11 window for renewed transfusions
                products=ctx.ti_products,
                plt_pretransfusion_days=ctx.plt_pretransfusion_days,  # D2
                arc_pretransfusion_days=ctx.arc_pretransfusion_days,  # D2
            )
        except ValueError as err:
            notes.append(Note("ADTTE", s.subject_id, f"relapse detection failed: {err}"))
        else:
            if found.relapsed:
                relapse = found.relapse_date
                if not (events["event_type"] == "RELAPSE").any():
                    notes.append(
                        Note(
                            "ADTTE",
                            s.subject_id,
                            f"relapse found in the data but not recorded (D16): {found.reason}",
                        )
                    )
    try:
        return derive_endpoints(
            s.trtsdt,
            events,
            ctx.cutoff,
            ctx.rows("response_assessments", s.subject_id),
            ctx.endpoint_options,  # D15, D16
            subject_id=s.subject_id,
            relapse_date=relapse,
        )
    except ValueError as err:
        notes.append(Note("ADTTE", s.subject_id, f"OS/FFS not derived: {err}"))
        return None


def compute_endpoints(ctx: StudyContext, adrs: pd.DataFrame | None = None) -> Endpoints:
    """OS/FFS of every subject (shared by ADTTE and ADSL).

    Parameters
    ----------
    ctx : StudyContext
    adrs : DataFrame, optional
        ADRS (first computed response, for relapse detection, D16).

    Returns
    -------
    Endpoints
    """
    notes: list[Note] = []
    out: dict[str, SubjectEndpoints] = {}
    for s in ctx.subjects:
        e = subject_endpoints(ctx, s, adrs, notes)
        if e is not None:
            out[s.subject_id] = e
    return Endpoints(out, tuple(notes))


def derive_adtte(
    ctx: StudyContext, adrs: pd.DataFrame | None = None, endpoints: Endpoints | None = None
) -> Derived:
    """Derive ADTTE (see the module docstring for every column).

    Parameters
    ----------
    ctx : StudyContext
    adrs : DataFrame, optional
        ADRS (for relapse detection after a computed response, D16).
    endpoints : Endpoints, optional
        Already computed by :func:`compute_endpoints` (then ``adrs`` is not used).

    Returns
    -------
    Derived
        With the notes of the endpoint derivation.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive.context import build_context
    >>> tte = derive_adtte(build_context(load_bundled_study())).frame
    >>> tte.groupby("PARAMCD")["CNSR"].value_counts().sort_index().to_dict()
    {('FFS', 0): 8, ('FFS', 1): 10, ('OS', 0): 2, ('OS', 1): 16}
    """
    if endpoints is None:
        endpoints = compute_endpoints(ctx, adrs)
    rows: list[dict[str, Any]] = []
    for s in ctx.subjects:
        e = endpoints.by_subject.get(s.subject_id)
        if e is None:
            continue
        base = {
            **subject_identifiers(ctx.studyid, s),
            "STARTDT": e.day1,
            "AVALU": "MONTHS",
        }
        for code, when, days, months, event, reason in (
            ("OS", e.os_date, e.os_days, e.os_months, e.os_event, e.os_reason),
            ("FFS", e.ffs_date, e.ffs_days, e.ffs_months, e.ffs_event, e.ffs_reason),
        ):
            rows.append(
                {
                    **base,
                    "PARAMCD": code,
                    "PARAM": PARAMS[code],
                    "AVAL": months,
                    "AVALDAY": days,
                    "ADT": when,
                    "CNSR": 0 if event else 1,  # ADaM: 0 = event, 1 = censored
                    "EVNTDESC": reason,
                    "CNSDTDSC": None if event else reason,
                }
            )
    return Derived(build_frame(rows, COLUMNS), endpoints.notes)
