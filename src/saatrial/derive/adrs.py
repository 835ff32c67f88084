"""ADRS: haematologic response per subject and visit, and best response.

Responses are **computed** from the labs and transfusions tables with
:func:`saatrial.rules.response.assess_visit` and the protocol's criteria set
(``cn-peds-2014`` for NCT02218437), and the investigator's **recorded**
response (``response_assessments``) is put beside each one. Every visit where
the two differ is listed in the notes.

Rows: for every subject, one ``RSP`` row per protocol visit (D40, D90, D180:
D9 windows), then one ``BESTRSP90`` and one ``BESTRSP180`` row. Sorted by
``USUBJID``, then in that order.

Columns
-------
========== ===================================================================
STUDYID    ``study.study_id``.
USUBJID    ``STUDYID-SUBJID``.
SUBJID     ``subjects.subject_id``.
ARMCD      Allocated arm (``subjects.arm_id``).
TRTP       Allocated arm label (``arms.label``).
PARAMCD    ``RSP`` (response at a visit), ``BESTRSP90`` / ``BESTRSP180`` (best
           response over the visits due by day 90 / day 180).
PARAM      Parameter in words, with the criteria set.
AVALC      ``CR``, ``PR``, ``NR`` or ``NE``. RSP: ``assess_visit`` (TRIAL.md 4;
           D1 strict, D9 nearest value in the window, D10 ARC rise, D11
           transfusion independence, D12 CR needs TI, D13 Hb for age, D14 NR
           fallback; death on or before the target day -> NR). Best: CR > PR >
           NR > NE over the RSP rows of visits with target day <= 90 (180);
           ties -> the earliest.
AVISIT     Visit code (RSP rows); empty on best-response rows.
AVISITN    Visit target day (RSP rows).
ADT        Assessment date: the latest sample date used (the death date for
           NR by death); best rows: date of the best assessment.
ADY        CDISC study day of ADT (day 1 = TRTSDT, no day 0).
SRCAVIS    Best rows: the visit the best response comes from.
CRITSET    Criteria set id; CRITSETV its version.
CRITSETV   Criteria set version.
DECIDEBY   The rule that decided (or why NE).
BYFALLFL   ``Y`` when NR only because neither CR nor PR held (D14).
MISSVAR    Variables that were needed and missing (NE).
ANC        ANC used (10^9/L), nearest to the target in the window (D9).
PLT        Platelets used (10^9/L).
HGB        Haemoglobin used (g/L).
ARC        Reticulocytes used (10^9/L).
BARC       Baseline ARC (10^9/L): last on or before TRTSDT.
ARCINCR    ARC - baseline ARC (10^9/L) (D10).
HGBNRMFL   Haemoglobin normal for age and sex (D13 table).
TIFL       Transfusion independent: no RBC/PLT transfusion in the 28 days up
           to ADT (D11).
SAACRFL    At least two SAA blood criteria met (read by the NIH and BSH sets).
RECRSP     Recorded response at the visit (``response_assessments.response``);
           best rows: best recorded response over the same visits.
RECDT      Recorded assessment date.
RECCRIT    Criteria set named in the recorded row.
AGREEFL    ``Y`` when AVALC equals RECRSP, ``N`` when not, empty when nothing
           was recorded.
========== ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from saatrial.derive.common import (
    SUBJECT_ID_COLUMNS,
    Column,
    Derived,
    Note,
    build_frame,
    cdisc_study_day,
    flag,
    subject_identifiers,
)
from saatrial.derive.context import StudyContext, SubjectInfo
from saatrial.rules.frames import last_on_or_before
from saatrial.rules.response import (
    RESPONSE_RANK,
    ResponseAssessment,
    ResponseCategory,
    assess_visit,
    load_criteria_set,
)
from saatrial.rules.types import is_missing, to_optional_date

__all__ = ["BEST_BY_DAYS", "COLUMNS", "ResponseRow", "best_of", "derive_adrs"]

#: Best response is reported over the visits due by these study days.
BEST_BY_DAYS = (90, 180)

COLUMNS: tuple[Column, ...] = (
    *SUBJECT_ID_COLUMNS,
    Column("PARAMCD", "text", "Parameter Code"),
    Column("PARAM", "text", "Parameter"),
    Column("AVALC", "text", "Analysis Value (C): CR/PR/NR/NE"),
    Column("AVISIT", "text", "Analysis Visit"),
    Column("AVISITN", "int", "Analysis Visit (N): target study day"),
    Column("ADT", "date", "Analysis Date"),
    Column("ADY", "int", "Analysis Relative Day"),
    Column("SRCAVIS", "text", "Visit of the Best Response"),
    Column("CRITSET", "text", "Response Criteria Set"),
    Column("CRITSETV", "text", "Response Criteria Set Version"),
    Column("DECIDEBY", "text", "Deciding Criterion"),
    Column("BYFALLFL", "flag", "NR by Fallback Flag (D14)"),
    Column("MISSVAR", "text", "Missing Variables"),
    Column("ANC", "float", "ANC Used (10^9/L)"),
    Column("PLT", "float", "Platelets Used (10^9/L)"),
    Column("HGB", "float", "Haemoglobin Used (g/L)"),
    Column("ARC", "float", "Reticulocytes Used (10^9/L)"),
    Column("BARC", "float", "Baseline Reticulocytes (10^9/L)"),
    Column("ARCINCR", "float", "ARC minus Baseline ARC (10^9/L) (D10)"),
    Column("HGBNRMFL", "flag", "Haemoglobin Normal for Age Flag (D13)"),
    Column("TIFL", "flag", "Transfusion Independent Flag (D11)"),
    Column("SAACRFL", "flag", "SAA Blood Criteria Met Flag"),
    Column("RECRSP", "text", "Recorded Response"),
    Column("RECDT", "date", "Recorded Assessment Date"),
    Column("RECCRIT", "text", "Recorded Criteria Set"),
    Column("AGREEFL", "flag", "Computed Equals Recorded Flag"),
)

_RANK = {**{c.value: r for c, r in RESPONSE_RANK.items()}, ResponseCategory.NE.value: -1}


@dataclass(frozen=True)
class ResponseRow:
    """One response (computed or recorded) for choosing the best.

    Attributes
    ----------
    category : str
        ``CR``, ``PR``, ``NR`` or ``NE``.
    visit : str
        Visit code.
    on : datetime.date or None
        Assessment date.
    """

    category: str
    visit: str
    on: date | None


def best_of(rows: Sequence[ResponseRow]) -> ResponseRow | None:
    """The best response: CR > PR > NR > NE; ties -> the earliest date.

    Parameters
    ----------
    rows : sequence of ResponseRow

    Returns
    -------
    ResponseRow or None
        ``None`` for no rows.

    Examples
    --------
    >>> d = date(2014, 1, 1)
    >>> best_of([ResponseRow("NR", "D40", d), ResponseRow("PR", "D90", d)]).visit
    'D90'
    >>> best_of([ResponseRow("NE", "D40", None), ResponseRow("NR", "D90", d)]).category
    'NR'
    >>> best_of([]) is None
    True
    """
    if not rows:
        return None

    def key(r: ResponseRow) -> tuple[int, int]:
        return (_RANK.get(r.category, -2), -(r.on.toordinal() if r.on else 10**7))

    return max(rows, key=key)


def _values_columns(a: ResponseAssessment) -> dict[str, Any]:
    v: Mapping[str, Any] = a.values
    return {
        "ANC": v.get("anc_1e9_per_l"),
        "PLT": v.get("plt_1e9_per_l"),
        "HGB": v.get("hgb_g_per_l"),
        "ARC": v.get("arc_1e9_per_l"),
        "BARC": v.get("baseline_arc_1e9_per_l"),
        "ARCINCR": v.get("arc_increase_1e9_per_l"),
        "HGBNRMFL": flag(v.get("hgb_normal_for_age")),
        "TIFL": flag(v.get("transfusion_independent")),
        "SAACRFL": flag(v.get("saa_blood_criteria_met")),
    }


def _recorded(ctx: StudyContext, s: SubjectInfo, notes: list[Note]) -> dict[str, dict]:
    rows = ctx.rows("response_assessments", s.subject_id)
    known = {v.code for v in ctx.visits}
    out: dict[str, dict] = {}
    for _, r in rows.iterrows():
        visit = None if is_missing(r["visit"]) else str(r["visit"])
        if visit is None:
            continue
        if visit not in known:
            notes.append(
                Note(
                    "ADRS",
                    s.subject_id,
                    f"recorded response at visit {visit!r}: not a "
                    f"protocol visit ({sorted(known)}); not compared",
                )
            )
            continue
        crit = None if is_missing(r["criteria_set"]) else str(r["criteria_set"])
        if crit is not None and crit != ctx.criteria_set:
            notes.append(
                Note(
                    "ADRS",
                    s.subject_id,
                    f"{visit}: recorded with criteria set {crit!r}, "
                    f"computed with the protocol's {ctx.criteria_set!r}",
                )
            )
        out[visit] = {
            "RECRSP": None if is_missing(r["response"]) else str(r["response"]),
            "RECDT": to_optional_date(r["assessment_date"], "assessment_date"),
            "RECCRIT": crit,
        }
    return out


def _assess(ctx: StudyContext, s: SubjectInfo, visit: Any) -> ResponseAssessment:
    # D10: baseline ARC = last ARC on or before study day 1 (assess_visit's own default)
    base = last_on_or_before(ctx.lab_values(s.subject_id).get("ARC", ()), s.trtsdt)  # type: ignore[arg-type]
    return assess_visit(
        s.subject_id,
        visit,  # D9: window of the protocol visit
        s.trtsdt,  # type: ignore[arg-type]
        ctx.rows("labs", s.subject_id),
        ctx.rows("transfusions", s.subject_id),
        sex=s.sex,
        birth_date=s.birth_date,
        criteria_set=ctx.criteria_set,
        baseline={"arc_1e9_per_l": base.value if base else None},
        death_date=s.death_date,
        ti_window_days=ctx.ti_window_days,  # D11
        ti_products=ctx.ti_products,  # D11
        hgb_table=ctx.hgb_table,  # D13
        options=ctx.response_options,  # D10, D12
        plt_pretransfusion_days=ctx.plt_pretransfusion_days,  # D2
        arc_pretransfusion_days=ctx.arc_pretransfusion_days,  # D2
    )


def derive_adrs(ctx: StudyContext) -> Derived:
    """Derive ADRS (see the module docstring for every column).

    Parameters
    ----------
    ctx : StudyContext
        From :func:`saatrial.derive.context.build_context`.

    Returns
    -------
    Derived
        The dataset and its notes: subjects without study day 1 (all visits
        NE), assessments that could not be computed, recorded responses that
        differ from the computed ones or are missing.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive.context import build_context
    >>> adrs = derive_adrs(build_context(load_bundled_study())).frame
    >>> d90 = adrs[(adrs["PARAMCD"] == "RSP") & (adrs["AVISIT"] == "D90")]
    >>> d90.groupby("ARMCD")["AVALC"].value_counts().to_dict()
    {('CONTROL', 'NR'): 7, ('CONTROL', 'PR'): 2, ('MSC', 'NR'): 8, ('MSC', 'PR'): 1}
    """
    notes: list[Note] = []
    crit = load_criteria_set(ctx.criteria_set)
    rows: list[dict[str, Any]] = []
    for s in ctx.subjects:
        base = {
            **subject_identifiers(ctx.studyid, s),
            "CRITSET": crit.id,
            "CRITSETV": crit.version,
        }
        recorded = _recorded(ctx, s, notes)
        computed: list[ResponseRow] = []
        for visit in ctx.visits:
            row: dict[str, Any] = {
                **base,
                "PARAMCD": "RSP",
                "PARAM": f"Haematologic response at visit ({crit.id})",
                "AVISIT": visit.code,
                "AVISITN": visit.target_day,
            }
            if s.trtsdt is None:
                row.update(
                    AVALC=ResponseCategory.NE.value,
                    DECIDEBY="not evaluable: no first rATG dose (TRTSDT, D7)",
                )
            else:
                try:
                    a = _assess(ctx, s, visit)
                except ValueError as err:
                    notes.append(Note("ADRS", s.subject_id, f"{visit.code}: not computed: {err}"))
                    row.update(AVALC=ResponseCategory.NE.value, DECIDEBY=f"not computed: {err}")
                else:
                    row.update(
                        AVALC=a.category.value,
                        ADT=a.assessment_date,
                        ADY=cdisc_study_day(a.assessment_date, s.trtsdt),
                        DECIDEBY=a.decided_by,
                        BYFALLFL=flag(a.by_fallback),
                        MISSVAR=", ".join(a.missing) or None,
                        **_values_columns(a),
                    )
            rec = recorded.get(visit.code, {})
            row.update(rec)
            row["AGREEFL"] = flag(row["AVALC"] == rec["RECRSP"]) if rec.get("RECRSP") else None
            if rec.get("RECRSP") and rec["RECRSP"] != row["AVALC"]:
                notes.append(
                    Note(
                        "ADRS",
                        s.subject_id,
                        f"{visit.code}: computed {row['AVALC']} ({row['DECIDEBY']}) but "
                        f"recorded {rec['RECRSP']}",
                    )
                )
            elif not rec.get("RECRSP") and row["AVALC"] != ResponseCategory.NE.value:
                notes.append(
                    Note(
                        "ADRS",
                        s.subject_id,
                        f"{visit.code}: computed {row['AVALC']} ({row['DECIDEBY']}); "
                        "no recorded response",
                    )
                )
            computed.append(ResponseRow(row["AVALC"], visit.code, row.get("ADT")))
            rows.append(row)

        for limit in BEST_BY_DAYS:
            codes = {v.code for v in ctx.visits if v.target_day <= limit}
            best = best_of([r for r in computed if r.visit in codes])
            rec_rows = [
                ResponseRow(str(r["RECRSP"]), code, r.get("RECDT"))
                for code, r in recorded.items()
                if code in codes and r.get("RECRSP")
            ]
            rec_best = best_of(rec_rows)
            avalc = best.category if best else ResponseCategory.NE.value
            rows.append(
                {
                    **base,
                    "PARAMCD": f"BESTRSP{limit}",
                    "PARAM": f"Best haematologic response by day {limit} ({crit.id})",
                    "AVALC": avalc,
                    "ADT": best.on if best else None,
                    "ADY": cdisc_study_day(best.on, s.trtsdt) if best else None,
                    "SRCAVIS": best.visit if best else None,
                    "DECIDEBY": (
                        f"best of visits {sorted(codes, key=_visit_day(ctx))} (CR > PR > NR > NE)"
                        if codes
                        else f"no protocol visit due by day {limit}"
                    ),
                    "RECRSP": rec_best.category if rec_best else None,
                    "RECDT": rec_best.on if rec_best else None,
                    "AGREEFL": flag(avalc == rec_best.category) if rec_best else None,
                }
            )
    return Derived(build_frame(rows, COLUMNS), tuple(notes))


def _visit_day(ctx: StudyContext) -> Any:
    days = {v.code: v.target_day for v in ctx.visits}
    return lambda code: days.get(code, 0)
