"""ADSL: one row per subject (demography, treatment, baseline, flags, outcome summary).

Sorted by ``USUBJID``. Baseline values are the last value on or before
``TRTSDT`` (study day 1 = first rATG dose, D7). Severity, eligibility,
response and endpoints are computed by the clinical rules
(:mod:`saatrial.rules`), never copied from a recorded summary.

Columns
-------
========== ===================================================================
STUDYID    ``study.study_id``.
USUBJID    ``STUDYID-SUBJID``.
SUBJID     ``subjects.subject_id``.
SITEID     ``subjects.site_id``.
ARMCD      Allocated arm code (``subjects.arm_id``).
ARM        Allocated arm label (``arms.label``; else the protocol's).
TRT01P     Planned treatment = ARM.
TRT01A     Actual treatment: the label of the protocol arm whose regimen
           (drug list) is the largest one fully received (``exposures``);
           empty when no study drug was given.
DOSELVL    Allocated dose level (``subjects.dose_level_id``).
SEX        ``M`` / ``F``.
BRTHDT     Birth date.
AGE        Completed years at diagnosis (calendar age, 29 Feb birthdays on
           28 Feb in common years; TRIAL.md 1).
AGEU       ``YEARS``.
DIAGDT     Diagnosis date.
RFICDT     Informed consent date.
ENRLDT     Enrolment (allocation) date.
TRTSDT     First rATG dose (D7): study day 1, time origin.
TRTEDT     Last day of any study drug (latest ``exposures.end_date``).
DIAG2TRT   Days from diagnosis to the first rATG dose: TRTSDT - DIAGDT (D6).
WEIGHTBL   Baseline weight (kg), ``subjects.weight_kg``.
HEIGHTBL   Baseline height (cm), ``subjects.height_cm``.
BANC       Baseline ANC (10^9/L): last on or before TRTSDT.
BPLT       Baseline platelets (10^9/L): idem (value as recorded; D2 applies to
           severity only).
BHGB       Baseline haemoglobin (g/L): idem.
BARC       Baseline reticulocytes (10^9/L): idem.
SEVBL      Severity at TRTSDT by :func:`saatrial.rules.severity.severity_at`:
           ``VSAA``, ``SAA``, ``NSAA``, ``NOT_AA`` or ``NOT_ASSESSABLE`` (D1
           strict thresholds; D2: a PLT/ARC value counts only if flagged
           pre-transfusion or no PLT/RBC transfusion in the 3/14 days before
           it; D3 vSAA needs SAA).
SEVBLRSN   The severity rule's reasons.
ELIGFL     Eligible by :func:`saatrial.rules.eligibility.assess_eligibility`
           with the protocol's parameters (D4 age, D5 organ function and
           performance, D6 newly diagnosed, severity SAA/vSAA, inherited
           marrow failure, HLA-matched sibling); empty when it could not be
           judged (no screening row or no TRTSDT).
ELIGFAIL   Every failed criterion: ``name: reason (Dn)``, joined by `` | ``.
ITTFL      ``Y`` for every allocated subject (``subjects.arm_id`` present).
SAFFL      ``Y`` when any study drug was given (any ``exposures`` row).
MSCDOSN    UC-MSC administrations received (``exposures``, drug UCMSC;
           administrations = days x per day).
MSCDOSPL   UC-MSC administrations planned by the protocol for the arm (D7:
           days 14, 21, 28 -> 3; 0 for arms without UC-MSC).
OSMO       OS time (months): ``rules.endpoints`` as in ADTTE (TRIAL.md 5).
OSCNSR     OS censor (0 = death, 1 = censored).
FFSMO      FFS time (months), as in ADTTE (D15, D16).
FFSCNSR    FFS censor (0 = event, 1 = censored).
FFSEVDSC   FFS event or censoring description.
FUMO       Follow-up (months): OS time (to death or last known alive; the
           "median follow-up" of the paper is the median of these).
DTHFL      ``Y`` when a DEATH outcome event is recorded, else ``N``.
DTHDT      Death date.
DTHCAUS    ``outcome_events.death_cause``.
HSCTFL     ``Y`` when an HSCT is recorded.
HSCTDT     First HSCT date.
HSCTDON    Donor type of the first HSCT (HAPLO, MUD, ...).
HSCTSRC    Stem-cell source of the first HSCT.
LTFUFL     ``Y`` when lost to follow-up.
LTFUDT     Date last known alive before the loss.
RLPSFL     ``Y`` when a RELAPSE event is recorded (relapses found only by the
           D16 rule are in the ADTTE notes).
CLONFL     ``Y`` when a CLONAL_EVOLUTION event is recorded.
AGVHDFL    ``Y`` when acute GVHD is recorded.
CGVHDFL    ``Y`` when chronic GVHD is recorded.
LSTALVDT   Date last known alive: alive subjects, the OS censoring date
           (rules.endpoints); subjects who died, the latest date of any of
           their records on or before the death.
BESTR90    Best computed response by day 90 (ADRS ``BESTRSP90``).
BESTR180   Best computed response by day 180 (ADRS ``BESTRSP180``).
========== ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from saatrial.derive.common import Column, Derived, Note, build_frame, flag, join_text
from saatrial.derive.context import SUBJECT_TABLES, StudyContext, SubjectInfo
from saatrial.rules.eligibility import assess_eligibility, eligibility_inputs_from_tables
from saatrial.rules.endpoints import SubjectEndpoints
from saatrial.rules.frames import last_on_or_before
from saatrial.rules.severity import severity_at
from saatrial.rules.types import is_missing

__all__ = ["COLUMNS", "actual_arm", "administrations", "derive_adsl"]

COLUMNS: tuple[Column, ...] = (
    Column("STUDYID", "text", "Study Identifier"),
    Column("USUBJID", "text", "Unique Subject Identifier"),
    Column("SUBJID", "text", "Subject Identifier for the Study"),
    Column("SITEID", "text", "Study Site Identifier"),
    Column("ARMCD", "text", "Planned Arm Code"),
    Column("ARM", "text", "Description of Planned Arm"),
    Column("TRT01P", "text", "Planned Treatment for Period 01"),
    Column("TRT01A", "text", "Actual Treatment for Period 01"),
    Column("DOSELVL", "text", "Dose Level"),
    Column("SEX", "text", "Sex"),
    Column("BRTHDT", "date", "Date of Birth"),
    Column("AGE", "int", "Age at Diagnosis (completed years)"),
    Column("AGEU", "text", "Age Units"),
    Column("DIAGDT", "date", "Date of Diagnosis"),
    Column("RFICDT", "date", "Date of Informed Consent"),
    Column("ENRLDT", "date", "Date of Enrolment"),
    Column("TRTSDT", "date", "Date of First Exposure (first rATG, D7)"),
    Column("TRTEDT", "date", "Date of Last Exposure"),
    Column("DIAG2TRT", "int", "Days from Diagnosis to First rATG"),
    Column("WEIGHTBL", "float", "Baseline Weight (kg)"),
    Column("HEIGHTBL", "float", "Baseline Height (cm)"),
    Column("BANC", "float", "Baseline ANC (10^9/L)"),
    Column("BPLT", "float", "Baseline Platelets (10^9/L)"),
    Column("BHGB", "float", "Baseline Haemoglobin (g/L)"),
    Column("BARC", "float", "Baseline Reticulocytes (10^9/L)"),
    Column("SEVBL", "text", "Baseline Severity (Camitta/Bacigalupo)"),
    Column("SEVBLRSN", "text", "Baseline Severity Reasons"),
    Column("ELIGFL", "flag", "Eligible Flag"),
    Column("ELIGFAIL", "text", "Failed Eligibility Criteria"),
    Column("ITTFL", "flag", "Intent-To-Treat Population Flag"),
    Column("SAFFL", "flag", "Safety Population Flag"),
    Column("MSCDOSN", "int", "UC-MSC Doses Received"),
    Column("MSCDOSPL", "int", "UC-MSC Doses Planned"),
    Column("OSMO", "float", "Overall Survival (months)"),
    Column("OSCNSR", "int", "OS Censor (0 = event, 1 = censored)"),
    Column("FFSMO", "float", "Failure-Free Survival (months)"),
    Column("FFSCNSR", "int", "FFS Censor (0 = event, 1 = censored)"),
    Column("FFSEVDSC", "text", "FFS Event or Censoring Description"),
    Column("FUMO", "float", "Follow-up (months)"),
    Column("DTHFL", "flag", "Subject Died Flag"),
    Column("DTHDT", "date", "Date of Death"),
    Column("DTHCAUS", "text", "Cause of Death"),
    Column("HSCTFL", "flag", "HSCT Flag"),
    Column("HSCTDT", "date", "Date of First HSCT"),
    Column("HSCTDON", "text", "HSCT Donor Type"),
    Column("HSCTSRC", "text", "HSCT Stem Cell Source"),
    Column("LTFUFL", "flag", "Lost to Follow-up Flag"),
    Column("LTFUDT", "date", "Date Lost to Follow-up"),
    Column("RLPSFL", "flag", "Relapse Recorded Flag"),
    Column("CLONFL", "flag", "Clonal Evolution Recorded Flag"),
    Column("AGVHDFL", "flag", "Acute GVHD Flag"),
    Column("CGVHDFL", "flag", "Chronic GVHD Flag"),
    Column("LSTALVDT", "date", "Date Last Known Alive"),
    Column("BESTR90", "text", "Best Response by Day 90"),
    Column("BESTR180", "text", "Best Response by Day 180"),
)

_PER_DAY = {"ONCE": None, "QD": 1, "Q12H": 2}
_BASELINE_TESTS = {"BANC": "ANC", "BPLT": "PLT", "BHGB": "HGB", "BARC": "ARC"}


def administrations(frequency: str, start: date, end: date) -> int:
    """Number of administrations an ``exposures`` row covers.

    ``ONCE`` -> 1; ``QD`` -> days; ``Q12H`` -> 2 x days (days counted inclusive).

    Examples
    --------
    >>> administrations("ONCE", date(2014, 1, 1), date(2014, 1, 1))
    1
    >>> administrations("QD", date(2014, 1, 1), date(2014, 1, 5))
    5
    >>> administrations("Q12H", date(2014, 1, 1), date(2014, 1, 2))
    4
    """
    if frequency not in _PER_DAY:
        raise ValueError(f"exposures: frequency: one of {sorted(_PER_DAY)}: {frequency!r}")
    per_day = _PER_DAY[frequency]
    if per_day is None:
        return 1
    days = (end - start).days + 1
    if days < 1:
        raise ValueError(f"exposures: end_date {end} before start_date {start}")
    return per_day * days


def actual_arm(received: set[str], regimens: Mapping[str, tuple[str, ...]]) -> str | None:
    """The arm whose regimen is the largest one fully received (``None`` if none).

    Parameters
    ----------
    received : set of str
        Drug codes given at least once.
    regimens : Mapping[str, tuple of str]
        Protocol arm -> its drugs.

    Examples
    --------
    >>> regimens = {"MSC": ("RATG", "CSA", "UCMSC"), "CONTROL": ("RATG", "CSA")}
    >>> actual_arm({"RATG", "CSA", "UCMSC"}, regimens), actual_arm({"RATG", "CSA"}, regimens)
    ('MSC', 'CONTROL')
    >>> actual_arm({"CSA"}, regimens) is None
    True
    """
    fitting = [
        (len(drugs), arm) for arm, drugs in regimens.items() if drugs and set(drugs) <= received
    ]
    if not fitting:
        return None
    best = max(n for n, _ in fitting)
    arms = sorted(arm for n, arm in fitting if n == best)
    return arms[0] if len(arms) == 1 else None


def _events(ctx: StudyContext, s: SubjectInfo, kind: str) -> pd.DataFrame:
    ev = ctx.rows("outcome_events", s.subject_id)
    return ev[ev["event_type"] == kind].sort_values("event_date")


def _first(frame: pd.DataFrame, column: str) -> Any:
    if frame.empty:
        return None
    v = frame[column].iloc[0]
    return None if is_missing(v) else v


def _last_record_date(ctx: StudyContext, s: SubjectInfo, until: date) -> date | None:
    latest: date | None = None
    for table in SUBJECT_TABLES:
        rows = ctx.rows(table, s.subject_id)
        if rows.empty:
            continue
        for fname, f in ctx.study.spec(table).fields.items():
            if f.type != "date":
                continue
            col = rows[fname].dropna()
            if table == "outcome_events" and fname == "event_date":
                col = rows.loc[rows["event_type"] != "DEATH", fname].dropna()
            col = col[col <= pd.Timestamp(until)]
            if len(col):
                d = col.max().date()
                latest = d if latest is None or d > latest else latest
    return latest


def _exposure_columns(ctx: StudyContext, s: SubjectInfo, notes: list[Note]) -> dict[str, Any]:
    ex = ctx.rows("exposures", s.subject_id)
    received = {str(d) for d in ex["drug"].dropna()}
    n_msc = 0
    for _, r in ex[ex["drug"] == "UCMSC"].iterrows():
        try:
            n_msc += administrations(
                str(r["frequency"]), r["start_date"].date(), r["end_date"].date()
            )
        except (ValueError, AttributeError) as err:
            notes.append(Note("ADSL", s.subject_id, f"UC-MSC dose count: {err}"))
    regimen = ctx.arm_regimens.get(s.arm_id or "", ())
    planned = (
        len(ctx.protocol.drugs["UCMSC"].days)
        if "UCMSC" in regimen and "UCMSC" in ctx.protocol.drugs
        else 0
    )  # D7: days 14, 21, 28
    actual = actual_arm(received, ctx.arm_regimens) if received else None
    if received and actual is None:
        notes.append(
            Note(
                "ADSL",
                s.subject_id,
                f"drugs received {sorted(received)} match no protocol arm regimen: TRT01A empty",
            )
        )
    end = ex["end_date"].dropna()
    return {
        "SAFFL": flag(bool(received)),
        "TRT01A": ctx.arm_labels.get(actual) if actual else None,
        "TRTEDT": end.max() if len(end) else None,
        "MSCDOSN": n_msc,
        "MSCDOSPL": planned,
    }


def _baseline_columns(ctx: StudyContext, s: SubjectInfo, notes: list[Note]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.trtsdt is None:
        return out
    labs = ctx.rows("labs", s.subject_id)
    series = ctx.lab_values(s.subject_id)
    for column, test in _BASELINE_TESTS.items():
        v = last_on_or_before(series.get(test, ()), s.trtsdt)
        out[column] = v.value if v else None
        if v is None:
            notes.append(Note("ADSL", s.subject_id, f"{column}: no {test} on or before TRTSDT"))
    try:
        sev = severity_at(
            s.subject_id,
            s.trtsdt,
            labs,
            ctx.rows("transfusions", s.subject_id),
            ctx.rows("marrow_exams", s.subject_id),
            plt_pretransfusion_days=ctx.plt_pretransfusion_days,  # D2: 3 days
            arc_pretransfusion_days=ctx.arc_pretransfusion_days,  # D2: 14 days
        )
    except ValueError as err:
        notes.append(Note("ADSL", s.subject_id, f"SEVBL not derived: {err}"))
        return out
    out["SEVBL"] = sev.level.value
    out["SEVBLRSN"] = join_text(sev.reasons)
    if sev.level.value == "NOT_ASSESSABLE":
        notes.append(
            Note(
                "ADSL", s.subject_id, f"baseline severity not assessable: {'; '.join(sev.reasons)}"
            )
        )
    out["_severity"] = sev
    return out


def _eligibility_columns(
    ctx: StudyContext, s: SubjectInfo, severity: Any, notes: list[Note]
) -> dict[str, Any]:
    subjects = ctx.study["subjects"]
    try:
        inputs = eligibility_inputs_from_tables(
            s.subject_id,
            subjects[subjects["subject_id"] == s.subject_id],
            ctx.rows("screening", s.subject_id),
            ctx.rows("labs", s.subject_id),
            ctx.rows("exposures", s.subject_id),
            severity,
        )
        result = assess_eligibility(inputs, ctx.protocol.eligibility)  # D4-D6
    except ValueError as err:
        notes.append(Note("ADSL", s.subject_id, f"eligibility not assessable: {err}"))
        return {"ELIGFL": None, "ELIGFAIL": f"not assessable: {err}"}
    failed = [
        f"{c.name}: {c.reason}" + (f" ({c.decision_id})" if c.decision_id else "")
        for c in result.failed
    ]
    if failed:
        notes.append(Note("ADSL", s.subject_id, "not eligible: " + " | ".join(failed)))
    return {"ELIGFL": flag(result.eligible), "ELIGFAIL": join_text(failed, " | ")}


def _outcome_columns(
    ctx: StudyContext, s: SubjectInfo, e: SubjectEndpoints | None
) -> dict[str, Any]:
    death = _events(ctx, s, "DEATH")
    hsct = _events(ctx, s, "HSCT")
    ltfu = _events(ctx, s, "LOST_TO_FOLLOW_UP")
    out: dict[str, Any] = {
        "DTHFL": flag(not death.empty),
        "DTHDT": _first(death, "event_date"),
        "DTHCAUS": _first(death, "death_cause"),
        "HSCTFL": flag(not hsct.empty),
        "HSCTDT": _first(hsct, "event_date"),
        "HSCTDON": _first(hsct, "donor_type"),
        "HSCTSRC": _first(hsct, "stem_cell_source"),
        "LTFUFL": flag(not ltfu.empty),
        "LTFUDT": _first(ltfu, "event_date"),
        "RLPSFL": flag(not _events(ctx, s, "RELAPSE").empty),
        "CLONFL": flag(not _events(ctx, s, "CLONAL_EVOLUTION").empty),
        "AGVHDFL": flag(not _events(ctx, s, "AGVHD").empty),
        "CGVHDFL": flag(not _events(ctx, s, "CGVHD").empty),
    }
    if e is not None:
        out.update(
            OSMO=e.os_months,
            OSCNSR=0 if e.os_event else 1,
            FFSMO=e.ffs_months,
            FFSCNSR=0 if e.ffs_event else 1,
            FFSEVDSC=e.ffs_reason,
            FUMO=e.follow_up_months,
        )
        if e.death_date is None:
            out["LSTALVDT"] = e.last_known_alive
        else:
            out["LSTALVDT"] = _last_record_date(ctx, s, e.death_date)
    elif s.death_date is not None:
        out["LSTALVDT"] = _last_record_date(ctx, s, s.death_date)
    elif ctx.cutoff is not None:
        out["LSTALVDT"] = _last_record_date(ctx, s, ctx.cutoff)
    return out


def _best(adrs: pd.DataFrame | None, subject_id: str, paramcd: str) -> str | None:
    if adrs is None or adrs.empty:
        return None
    hit = adrs.loc[(adrs["SUBJID"] == subject_id) & (adrs["PARAMCD"] == paramcd), "AVALC"]
    return None if hit.empty or is_missing(hit.iloc[0]) else str(hit.iloc[0])


def derive_adsl(
    ctx: StudyContext,
    adrs: pd.DataFrame | None = None,
    endpoints: Mapping[str, SubjectEndpoints] | None = None,
) -> Derived:
    """Derive ADSL (see the module docstring for every column).

    Parameters
    ----------
    ctx : StudyContext
    adrs : DataFrame, optional
        ADRS, for BESTR90/BESTR180 (empty without it).
    endpoints : Mapping[str, SubjectEndpoints], optional
        Subject id -> endpoints (:func:`saatrial.derive.adtte.compute_endpoints`),
        for the OS/FFS columns (empty without it).

    Returns
    -------
    Derived

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive.context import build_context
    >>> adsl = derive_adsl(build_context(load_bundled_study())).frame
    >>> len(adsl), adsl.loc[adsl["ARMCD"] == "MSC", "SEVBL"].value_counts().to_dict()
    (18, {'VSAA': 7, 'SAA': 2})
    """
    notes: list[Note] = []
    rows: list[dict[str, Any]] = []
    endpoints = endpoints or {}
    for s in ctx.subjects:
        row: dict[str, Any] = {
            "STUDYID": ctx.studyid,
            "USUBJID": s.usubjid,
            "SUBJID": s.subject_id,
            "SITEID": s.site_id,
            "ARMCD": s.arm_id,
            "ARM": s.arm_label,
            "TRT01P": s.arm_label,
            "DOSELVL": s.dose_level_id,
            "SEX": s.sex,
            "BRTHDT": s.birth_date,
            "AGE": s.age_at_diagnosis_years,
            "AGEU": "YEARS",
            "DIAGDT": s.diagnosis_date,
            "RFICDT": s.consent_date,
            "ENRLDT": s.enrolment_date,
            "TRTSDT": s.trtsdt,
            "DIAG2TRT": (
                (s.trtsdt - s.diagnosis_date).days  # D6: days diagnosis -> first rATG
                if s.trtsdt is not None and s.diagnosis_date is not None
                else None
            ),
            "WEIGHTBL": s.weight_kg,
            "HEIGHTBL": s.height_cm,
            "ITTFL": flag(s.arm_id is not None),
            "BESTR90": _best(adrs, s.subject_id, "BESTRSP90"),
            "BESTR180": _best(adrs, s.subject_id, "BESTRSP180"),
        }
        if row["AGE"] is None:
            notes.append(
                Note(
                    "ADSL",
                    s.subject_id,
                    "AGE: birth or diagnosis date missing or diagnosis before birth",
                )
            )
        row.update(_exposure_columns(ctx, s, notes))
        baseline = _baseline_columns(ctx, s, notes)
        severity = baseline.pop("_severity", None)
        row.update(baseline)
        if s.trtsdt is None:
            row["ELIGFL"] = None
            row["ELIGFAIL"] = "not assessable: no first rATG dose (TRTSDT, D7)"
        else:
            row.update(_eligibility_columns(ctx, s, severity, notes))
        row.update(_outcome_columns(ctx, s, endpoints.get(s.subject_id)))
        rows.append(row)
    return Derived(build_frame(rows, COLUMNS), tuple(notes))
