"""ADLB: one row per laboratory result, plus the T-cell subsets as parameters.

Sources: every ``labs`` row (one row per subject, date and test), and every
non-empty value of ``tcell_subsets`` (parameters CD4PCT, CD8PCT, TREGPCT,
CD4ABS, TREGABS). Sorted by ``USUBJID``, ``PARAMCD``, ``ADT``, ``AVISITN``.

Visits (D9): for each subject and parameter, the baseline record is the last
one on or before ``TRTSDT`` (``AVISIT = "BASELINE"``, ``ABLFL = "Y"``), and for
each protocol visit (D40 +/- 7, D90 +/- 14, D180 +/- 30 days; the T-cell
subsets only D40, TRIAL.md 3) the record nearest the target day inside the
window (ties -> the earlier) carries that visit. These records have
``ANL01FL = "Y"``: exactly one per subject x parameter x visit where data
exist. Other records have an empty ``AVISIT``. A record chosen for two
visits (only with overlapping windows) appears once per visit. A subject
without a first rATG dose has no study days, baseline or visits.

Columns
-------
========== ===================================================================
STUDYID    ``study.study_id``.
USUBJID    ``STUDYID-SUBJID``.
SUBJID     ``subjects.subject_id``.
ARMCD      Allocated arm.
TRTP       Allocated arm label.
PARCAT1    ``HAEMATOLOGY``, ``CHEMISTRY`` or ``T-CELL SUBSETS``.
PARAMCD    Lab test code (``labs.test``) or T-cell parameter code.
PARAM      Parameter name with its unit, e.g. ``Absolute neutrophil count
           (10^9/L)`` (data dictionary).
AVAL       ``labs.value`` / the T-cell value.
AVALU      Unit (``labs.unit``; T-cells: the dictionary unit).
ADT        ``labs.lab_date`` / ``tcell_subsets.sample_date``.
ADY        CDISC study day: ADT - TRTSDT + 1 on or after TRTSDT, ADT - TRTSDT
           before it (no day 0; TRTSDT = first rATG dose, D7).
AVISIT     ``BASELINE``, a protocol visit code (D40, D90, D180) or empty (D9).
AVISITN    0 for BASELINE, else the visit's target day.
ANL01FL    ``Y`` on the record used for AVISIT (D9).
ABLFL      ``Y`` on the baseline record.
BASE       AVAL of the baseline record (same subject and parameter).
CHG        AVAL - BASE, for records after TRTSDT.
PCHG       100 x CHG / BASE (empty when BASE is 0).
A1LO       Lower limit of normal (``labs.lln``).
A1HI       Upper limit of normal (``labs.uln``).
ANRIND     ``LOW`` (< A1LO), ``HIGH`` (> A1HI), ``NORMAL``, or empty when the
           limit needed is missing.
ATOXTERM   CTCAE term that grades the test (``rules.ctcae.term_for_lab_test``;
           empty for tests without one, e.g. ARC, and for T-cells).
ATOXGR     CTCAE grade (0-4) by ``rules.ctcae.grade_lab`` with the record's
           LLN/ULN (TRIAL.md 6: v4.03); empty when unknown (e.g. grade 1 of
           a "decreased" term needs the LLN). Records after TRTSDT are graded
           against the subject's baseline value (creatinine's "x baseline"
           criteria); records on or before TRTSDT against their own value.
ATOXRSN    The grading rule's reason (which comparison, or what is missing).
BTOXGR     ATOXGR of the baseline record.
TRTEMFL    Records after TRTSDT: ``Y`` when ATOXGR is worse than BTOXGR
           (D18: SAA starts at grade 4 cytopenias), ``N`` when not, empty
           when a grade is unknown; ``N`` on or before TRTSDT; empty without
           a CTCAE term.
PRETRFL    Recorded pre-transfusion flag (``labs.pre_transfusion``).
PRETRDFL   PLT and ARC only: the value counts as pre-transfusion for severity
           (D2: flagged pre-transfusion, or no PLT / RBC transfusion in the
           3 / 14 days up to the sample).
========== ===================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
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
from saatrial.protocol import Visit
from saatrial.rules.ctcae import grade_lab, term_for_lab_test, treatment_emergent
from saatrial.rules.frames import (
    LabValue,
    last_on_or_before,
    nearest_in_window,
    transfusion_records,
)
from saatrial.rules.transfusion import pre_transfusion_check
from saatrial.rules.types import is_missing, optional_bool, optional_float

__all__ = ["COLUMNS", "TCELL_PARAMS", "TCELL_VISITS", "VisitFlags", "derive_adlb", "flag_visits"]

COLUMNS: tuple[Column, ...] = (
    *SUBJECT_ID_COLUMNS,
    Column("PARCAT1", "text", "Parameter Category 1"),
    Column("PARAMCD", "text", "Parameter Code"),
    Column("PARAM", "text", "Parameter"),
    Column("AVAL", "float", "Analysis Value"),
    Column("AVALU", "text", "Analysis Value Unit"),
    Column("ADT", "date", "Analysis Date"),
    Column("ADY", "int", "Analysis Relative Day"),
    Column("AVISIT", "text", "Analysis Visit"),
    Column("AVISITN", "int", "Analysis Visit (N)"),
    Column("ANL01FL", "flag", "Analysis Flag 01: record used for AVISIT (D9)"),
    Column("ABLFL", "flag", "Baseline Record Flag"),
    Column("BASE", "float", "Baseline Value"),
    Column("CHG", "float", "Change from Baseline"),
    Column("PCHG", "float", "Percent Change from Baseline"),
    Column("A1LO", "float", "Analysis Range 1 Lower Limit (LLN)"),
    Column("A1HI", "float", "Analysis Range 1 Upper Limit (ULN)"),
    Column("ANRIND", "text", "Analysis Reference Range Indicator"),
    Column("ATOXTERM", "text", "CTCAE Term Graded"),
    Column("ATOXGR", "int", "Analysis Toxicity Grade (CTCAE)"),
    Column("ATOXRSN", "text", "Toxicity Grade Derivation"),
    Column("BTOXGR", "int", "Baseline Toxicity Grade"),
    Column("TRTEMFL", "flag", "Treatment Emergent Analysis Flag (D18)"),
    Column("PRETRFL", "flag", "Pre-transfusion Sample Flag (recorded)"),
    Column("PRETRDFL", "flag", "Counts as Pre-transfusion for Severity (D2)"),
)

#: T-cell subsets as ADLB parameters: field of tcell_subsets -> (PARAMCD, name).
TCELL_PARAMS: dict[str, tuple[str, str]] = {
    "cd3cd4_pct": ("CD4PCT", "CD3+CD4+ T cells"),
    "cd3cd8_pct": ("CD8PCT", "CD3+CD8+ T cells"),
    "treg_pct_of_cd4": ("TREGPCT", "CD4+CD25+CD127dim regulatory T cells"),
    "cd4_per_ul": ("CD4ABS", "CD4+ T cells, absolute"),
    "treg_per_ul": ("TREGABS", "Regulatory T cells, absolute"),
}
#: T-cell subsets are measured at baseline and after treatment at day 40 (TRIAL.md 3).
TCELL_VISITS = ("D40",)
_HAEMATOLOGY = frozenset({"ANC", "PLT", "HGB", "ARC", "WBC", "ALC"})
#: D2: a PLT (ARC) count is checked against PLT (RBC) transfusions.
_D2_PRODUCT = {"PLT": "PLT", "ARC": "RBC"}


@dataclass(frozen=True)
class VisitFlags:
    """Which records of one subject and parameter are baseline and visit records (D9).

    Attributes
    ----------
    baseline : datetime.date or None
        Date of the baseline record (last on or before study day 1).
    visits : dict of date to tuple of str
        Record date -> the visit codes it is used for.
    """

    baseline: date | None
    visits: dict[date, tuple[str, ...]]


def flag_visits(dates: Sequence[date], day1: date | None, visits: Sequence[Visit]) -> VisitFlags:
    """Pick the baseline record and the record of each visit among one parameter's dates.

    Parameters
    ----------
    dates : sequence of datetime.date
        The sample dates of one subject's parameter (unique).
    day1 : datetime.date or None
        Study day 1 (TRTSDT, D7); ``None`` -> no baseline, no visits.
    visits : sequence of Visit
        Protocol visits (target day, window half-width; D9).

    Returns
    -------
    VisitFlags

    Examples
    --------
    Day 1 = 1 Jan 2014; the D40 target (study day 40) is 9 Feb 2014, window
    +/- 7 days. Samples on 7 and 11 Feb are 2 days either side: the earlier wins.

    >>> from saatrial.protocol import Visit
    >>> d40 = Visit("D40", 40, 7, "day 40")
    >>> f = flag_visits([date(2013, 12, 31), date(2014, 2, 7), date(2014, 2, 11)],
    ...                 date(2014, 1, 1), [d40])
    >>> f.baseline, f.visits
    (datetime.date(2013, 12, 31), {datetime.date(2014, 2, 7): ('D40',)})
    """
    if day1 is None:
        return VisitFlags(None, {})
    values = [LabValue("X", d, 0.0) for d in sorted(dates)]
    base = last_on_or_before(values, day1)
    picked: dict[date, list[str]] = {}
    for v in visits:
        target = day1 + timedelta(days=v.target_day - 1)  # study day n = day1 + n - 1
        hit = nearest_in_window(values, target, v.window_days)  # D9: nearest in window
        if hit is not None:
            picked.setdefault(hit.lab_date, []).append(v.code)
    return VisitFlags(base.lab_date if base else None, {d: tuple(c) for d, c in picked.items()})


def _anrind(value: float, lo: float | None, hi: float | None) -> str | None:
    if lo is not None and value < lo:
        return "LOW"
    if hi is not None and value > hi:
        return "HIGH"
    if lo is not None and hi is not None:
        return "NORMAL"
    return None


def _term(test: str, version: str) -> str | None:
    try:
        return term_for_lab_test(test, version)
    except ValueError:
        return None


def _grade_record(
    ctx: StudyContext,
    s: SubjectInfo,
    term: str | None,
    r: Any,
    against: float | None,
    unit_default: str | None,
    notes: list[Note],
) -> tuple[int | None, str | None]:
    """CTCAE grade and reason of one labs row (``against`` = baseline for x-baseline criteria)."""
    if term is None:
        return None, None
    unit = r["unit"] if not is_missing(r["unit"]) else unit_default
    try:
        g = grade_lab(
            term,
            float(r["value"]),
            str(unit),
            optional_float(r["lln"], "lln"),
            optional_float(r["uln"], "uln"),
            against,
            ctx.ctcae_version,
        )
    except ValueError as err:
        when = r["lab_date"].date()
        notes.append(Note("ADLB", s.subject_id, f"{r['test']} on {when}: not graded: {err}"))
        return None, f"not graded: {err}"
    return g.grade, g.reason


def _expand(
    row: dict[str, Any], when: date, flags: VisitFlags, day_of_visit: dict[str, int]
) -> list[dict[str, Any]]:
    """One row per visit the record is used for (or one row without a visit)."""
    codes: list[str] = []
    if flags.baseline == when:
        codes.append("BASELINE")
    codes.extend(flags.visits.get(when, ()))
    if not codes:
        return [row]
    return [
        {
            **row,
            "AVISIT": code,
            "AVISITN": 0 if code == "BASELINE" else day_of_visit[code],
            "ANL01FL": "Y",
        }
        for code in codes
    ]


def _lab_rows(ctx: StudyContext, s: SubjectInfo, notes: list[Note]) -> list[dict[str, Any]]:
    labs = ctx.rows("labs", s.subject_id)
    if labs.empty:
        return []
    records = transfusion_records(ctx.rows("transfusions", s.subject_id), s.subject_id)
    lab_tests = ctx.study.dictionary.lab_tests
    day_of_visit = {v.code: v.target_day for v in ctx.visits}
    by_test: dict[str, list[dict[str, Any]]] = {}
    for raw in labs.to_dict("records"):
        rec = {str(k): v for k, v in raw.items()}
        if is_missing(rec["test"]) or is_missing(rec["lab_date"]) or is_missing(rec["value"]):
            continue
        by_test.setdefault(str(rec["test"]), []).append(rec)
    out: list[dict[str, Any]] = []
    for test in sorted(by_test):
        group = sorted(by_test[test], key=lambda rec: rec["lab_date"])
        flags = flag_visits([r["lab_date"].date() for r in group], s.trtsdt, ctx.visits)
        spec = lab_tests.get(test)
        name = spec.name[:1].upper() + spec.name[1:] if spec else test
        unit_default = spec.unit if spec else None
        term = _term(test, ctx.ctcae_version)
        base_row = next((r for r in group if r["lab_date"].date() == flags.baseline), None)
        base_value = None if base_row is None else float(base_row["value"])

        btox = None
        if base_row is not None:
            btox, _ = _grade_record(ctx, s, term, base_row, base_value, unit_default, notes)
        for r in group:
            when = r["lab_date"].date()
            value = float(r["value"])
            after = s.trtsdt is not None and when > s.trtsdt
            # records after day 1 are graded against the baseline (creatinine x baseline)
            gr, reason = _grade_record(
                ctx, s, term, r, base_value if after else value, unit_default, notes
            )
            lo = optional_float(r["lln"], "lln")
            hi = optional_float(r["uln"], "uln")
            chg = value - base_value if after and base_value is not None else None
            if term is None:
                temfl = None
            elif not after:
                temfl = "N"
            else:
                temfl = flag(treatment_emergent(gr, btox).emergent)  # D18
            pre = optional_bool(r["pre_transfusion"], "pre_transfusion")
            d2 = None
            if test in _D2_PRODUCT:  # D2: 3 d (PLT) / 14 d (ARC) without transfusion
                days = ctx.plt_pretransfusion_days if test == "PLT" else ctx.arc_pretransfusion_days
                d2 = pre_transfusion_check(when, pre, records, _D2_PRODUCT[test], days).usable
            row = {
                "PARCAT1": "HAEMATOLOGY" if test in _HAEMATOLOGY else "CHEMISTRY",
                "PARAMCD": test,
                "PARAM": f"{name} ({unit_default or r['unit']})",
                "AVAL": value,
                "AVALU": r["unit"],
                "ADT": when,
                "ADY": cdisc_study_day(when, s.trtsdt),
                "ABLFL": "Y" if flags.baseline == when else None,
                "BASE": base_value,
                "CHG": chg,
                "PCHG": 100.0 * chg / base_value if chg is not None and base_value else None,
                "A1LO": lo,
                "A1HI": hi,
                "ANRIND": _anrind(value, lo, hi),
                "ATOXTERM": term,
                "ATOXGR": gr,
                "ATOXRSN": reason,
                "BTOXGR": btox,
                "TRTEMFL": temfl,
                "PRETRFL": flag(pre),
                "PRETRDFL": flag(d2),
            }
            out.extend(_expand(row, when, flags, day_of_visit))
    return out


def _tcell_rows(ctx: StudyContext, s: SubjectInfo) -> list[dict[str, Any]]:
    tc = ctx.rows("tcell_subsets", s.subject_id)
    if tc.empty:
        return []
    spec = ctx.study.spec("tcell_subsets")
    visits = [v for v in ctx.visits if v.code in TCELL_VISITS]
    day_of_visit = {v.code: v.target_day for v in visits}
    out: list[dict[str, Any]] = []
    samples = [r for r in tc.to_dict("records") if not is_missing(r["sample_date"])]
    for field, (code, name) in TCELL_PARAMS.items():
        rows = [r for r in samples if not is_missing(r[field])]
        if not rows:
            continue
        unit = spec.fields[field].unit or ""
        flags = flag_visits([r["sample_date"].date() for r in rows], s.trtsdt, visits)
        base_value = next(
            (float(r[field]) for r in rows if r["sample_date"].date() == flags.baseline), None
        )
        for r in rows:
            when = r["sample_date"].date()
            value = float(r[field])
            after = s.trtsdt is not None and when > s.trtsdt
            chg = value - base_value if after and base_value is not None else None
            row = {
                "PARCAT1": "T-CELL SUBSETS",
                "PARAMCD": code,
                "PARAM": f"{name} ({unit})",
                "AVAL": value,
                "AVALU": unit,
                "ADT": when,
                "ADY": cdisc_study_day(when, s.trtsdt),
                "ABLFL": "Y" if flags.baseline == when else None,
                "BASE": base_value,
                "CHG": chg,
                "PCHG": 100.0 * chg / base_value if chg is not None and base_value else None,
            }
            out.extend(_expand(row, when, flags, day_of_visit))
    return out


def derive_adlb(ctx: StudyContext) -> Derived:
    """Derive ADLB (see the module docstring for every column).

    Parameters
    ----------
    ctx : StudyContext

    Returns
    -------
    Derived
        Notes: results that could not be graded (unit refused, LLN above ULN).

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive.context import build_context
    >>> adlb = derive_adlb(build_context(load_bundled_study())).frame
    >>> anc = adlb[(adlb["PARAMCD"] == "ANC") & (adlb["ANL01FL"] == "Y")]
    >>> anc.groupby("AVISIT")["USUBJID"].nunique().to_dict()["BASELINE"]
    18
    """
    notes: list[Note] = []
    rows: list[dict[str, Any]] = []
    for s in ctx.subjects:
        ident = subject_identifiers(ctx.studyid, s)
        for row in [*_lab_rows(ctx, s, notes), *_tcell_rows(ctx, s)]:
            rows.append({**ident, **row})
    frame = build_frame(rows, COLUMNS)
    if not frame.empty:
        frame = frame.sort_values(
            ["USUBJID", "PARAMCD", "ADT", "AVISITN"], kind="stable", na_position="first"
        ).reset_index(drop=True)
    return Derived(frame, tuple(notes))
