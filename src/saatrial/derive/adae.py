"""ADAE: one row per adverse event, CTCAE-coded, with treatment-emergence and worst grade.

Source: ``adverse_events`` (investigator-graded, CTCAE v4.03 for the trial,
TRIAL.md 6). Sorted by ``USUBJID``, ``ASTDT``, ``AESPID``.

Checks that produce notes (the row is kept): a grade CTCAE does not define for
the term (``rules.ctcae.validate_clinical_grade``; e.g. Anaphylaxis grade 1-2)
and an "anaphylactic" verbatim term coded against D17 (grade 1-2 ->
"Allergic reaction", grade 3+ -> "Anaphylaxis"; the protocol's
``D17_anaphylaxis_coding``).

Columns
-------
========== ===================================================================
STUDYID    ``study.study_id``.
USUBJID    ``STUDYID-SUBJID``.
SUBJID     ``subjects.subject_id``.
ARMCD      Allocated arm.
TRTP       Allocated arm label.
TRTA       Actual treatment (ADSL ``TRT01A``).
AESPID     ``adverse_events.ae_id``.
AETERM     Verbatim term (``verbatim_term``).
AEDECOD    CTCAE term (``ctcae_term``; D17 for anaphylactic reactions).
AECTCV     CTCAE version of term and grade.
AETOXGR    CTCAE grade (``grade``).
GRDBAND    ``1-2``, ``3-4`` or ``5`` (Table 2 bands).
GRDVALFL   ``Y`` when CTCAE defines the grade for the term in that version
           (``rules.ctcae.validate_clinical_grade``), else ``N``.
GRDVALRS   The validation's reason.
ASTDT      Onset date (``start_date``).
AENDT      Resolution date (``end_date``; empty if ongoing).
ASTDY      CDISC study day of ASTDT (day 1 = TRTSDT, no day 0).
AENDY      CDISC study day of AENDT.
TRTEMFL    ``Y`` when ASTDT is on or after TRTSDT (first rATG, D7), ``N``
           before; empty when either date is missing.
AESER      Serious (``Y``/``N``).
AEOUT      Outcome (``outcome``).
ARELRATG   Attribution to rabbit ATG (UNRELATED ... DEFINITE, NA = not given).
ARELCSA    Attribution to cyclosporine.
ARELMSC    Attribution to UC-MSC.
AEREL      ``Y`` when any drug's attribution is POSSIBLE, PROBABLE or DEFINITE.
AERELDRG   The drugs with such an attribution (``RATG, CSA, UCMSC``).
AOCCIFL    ``Y`` on each subject's worst-grade treatment-emergent event (ties:
           the earliest; ADaM OCCDS "1st max severity occurrence").
AOCCPIFL   ``Y`` on each subject's worst-grade treatment-emergent event of each
           AEDECOD (ties: the earliest): count subjects by term and worst grade.
========== ===================================================================
"""

from __future__ import annotations

from typing import Any

import pandas as pd

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
from saatrial.derive.context import StudyContext
from saatrial.rules.ctcae import code_anaphylactic_reaction, validate_clinical_grade
from saatrial.rules.types import is_missing, optional_bool, to_optional_date

__all__ = ["COLUMNS", "RELATED", "derive_adae", "grade_band"]

#: Attributions that count as related (AEREL).
RELATED = frozenset({"POSSIBLE", "PROBABLE", "DEFINITE"})
_ATTRIBUTION = {
    "ARELRATG": "attribution_ratg",
    "ARELCSA": "attribution_csa",
    "ARELMSC": "attribution_ucmsc",
}
_DRUG = {"ARELRATG": "RATG", "ARELCSA": "CSA", "ARELMSC": "UCMSC"}

COLUMNS: tuple[Column, ...] = (
    *SUBJECT_ID_COLUMNS,
    Column("TRTA", "text", "Actual Treatment"),
    Column("AESPID", "text", "Sponsor-Defined Identifier"),
    Column("AETERM", "text", "Reported Term for the Adverse Event"),
    Column("AEDECOD", "text", "CTCAE Term"),
    Column("AECTCV", "text", "CTCAE Version"),
    Column("AETOXGR", "int", "Standard Toxicity Grade (CTCAE)"),
    Column("GRDBAND", "text", "Grade Band (1-2, 3-4, 5)"),
    Column("GRDVALFL", "flag", "Grade Defined for Term Flag"),
    Column("GRDVALRS", "text", "Grade Validation Reason"),
    Column("ASTDT", "date", "Analysis Start Date"),
    Column("AENDT", "date", "Analysis End Date"),
    Column("ASTDY", "int", "Analysis Start Relative Day"),
    Column("AENDY", "int", "Analysis End Relative Day"),
    Column("TRTEMFL", "flag", "Treatment Emergent Analysis Flag"),
    Column("AESER", "flag", "Serious Event"),
    Column("AEOUT", "text", "Outcome of Adverse Event"),
    Column("ARELRATG", "text", "Attribution to Rabbit ATG"),
    Column("ARELCSA", "text", "Attribution to Cyclosporine"),
    Column("ARELMSC", "text", "Attribution to UC-MSC"),
    Column("AEREL", "flag", "Related to Any Study Drug Flag"),
    Column("AERELDRG", "text", "Study Drugs Related"),
    Column("AOCCIFL", "flag", "1st Max Grade Occurrence Flag"),
    Column("AOCCPIFL", "flag", "1st Max Grade Occurrence within Term Flag"),
)


def grade_band(grade: int | None) -> str | None:
    """The Table 2 band of a CTCAE grade: ``1-2``, ``3-4`` or ``5``.

    Examples
    --------
    >>> [grade_band(g) for g in (1, 2, 3, 4, 5, None)]
    ['1-2', '1-2', '3-4', '3-4', '5', None]
    """
    if grade is None:
        return None
    if not 1 <= grade <= 5:
        raise ValueError(f"CTCAE grade: 1-5: {grade!r}")
    return "1-2" if grade <= 2 else "3-4" if grade <= 4 else "5"


def _text(v: Any) -> str | None:
    return None if is_missing(v) else str(v)


def _d17_check(
    term: str | None, verbatim: str | None, grade: int | None, params: Any
) -> str | None:
    """A D17 coding problem of an 'anaphylactic' verbatim term, or None."""
    if verbatim is None or grade is None or "anaphyla" not in verbatim.lower():
        return None
    kwargs = dict(params) if isinstance(params, dict) else {}
    expected = code_anaphylactic_reaction(grade, verbatim, **kwargs)  # D17
    if term != expected.ctcae_term:
        return f"coded {term!r}, D17 expects {expected.ctcae_term!r}: {expected.reason}"
    return None


def _worst_flags(frame: pd.DataFrame, by: list[str], column: str) -> None:
    te = frame[(frame["TRTEMFL"] == "Y") & frame["AETOXGR"].notna()]
    if te.empty:
        return
    order = te.assign(_neg=-te["AETOXGR"].astype("float64")).sort_values(
        [*by, "_neg", "ASTDT", "AESPID"], kind="stable", na_position="last"
    )
    first = order.drop_duplicates(subset=by, keep="first").index
    frame.loc[first, column] = "Y"


def derive_adae(ctx: StudyContext, adsl: pd.DataFrame | None = None) -> Derived:
    """Derive ADAE (see the module docstring for every column).

    Parameters
    ----------
    ctx : StudyContext
    adsl : DataFrame, optional
        ADSL, for TRTA (``TRT01A``).

    Returns
    -------
    Derived
        Notes: invalid grades, D17 coding problems, events without TRTSDT.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive.context import build_context
    >>> adae = derive_adae(build_context(load_bundled_study())).frame
    >>> allergy = adae["AEDECOD"].isin(["Allergic reaction", "Anaphylaxis"])
    >>> adae[allergy & (adae["ARMCD"] == "MSC")]["USUBJID"].nunique()
    4
    """
    notes: list[Note] = []
    rows: list[dict[str, Any]] = []
    trta: dict[str, Any] = {}
    if adsl is not None and not adsl.empty:
        trta = dict(zip(adsl["SUBJID"], adsl["TRT01A"], strict=True))
    d17 = ctx.protocol.decisions.get("D17_anaphylaxis_coding")
    for s in ctx.subjects:
        ae = ctx.rows("adverse_events", s.subject_id)
        for _, r in ae.iterrows():
            aeid = _text(r["ae_id"])
            where = f"{aeid}"
            term = _text(r["ctcae_term"])
            verbatim = _text(r["verbatim_term"])
            version = _text(r["ctcae_version"]) or ctx.ctcae_version
            grade = None if is_missing(r["grade"]) else int(r["grade"])
            start = to_optional_date(r["start_date"], "start_date")
            end = to_optional_date(r["end_date"], "end_date")
            valid = None
            valid_reason = None
            if term is not None and grade is not None:
                try:
                    check = validate_clinical_grade(term, grade, version)
                except ValueError as err:
                    valid, valid_reason = False, str(err)
                else:
                    valid, valid_reason = check.ok, check.reason
                if not valid:
                    notes.append(
                        Note("ADAE", s.subject_id, f"{where}: {term} grade {grade}: {valid_reason}")
                    )
            try:
                problem = _d17_check(term, verbatim, grade, d17)
            except (TypeError, ValueError) as err:  # a malformed protocol D17 block
                problem = f"D17 coding not checked: {err}"
            if problem:
                notes.append(Note("ADAE", s.subject_id, f"{where}: {verbatim!r}: {problem}"))
            attributions = {col: _text(r[field]) for col, field in _ATTRIBUTION.items()}
            related = [_DRUG[c] for c, a in attributions.items() if a in RELATED]
            temfl = None
            if start is not None and s.trtsdt is not None:
                temfl = flag(start >= s.trtsdt)  # on or after the first rATG dose (D7)
            elif start is not None:
                notes.append(
                    Note("ADAE", s.subject_id, f"{where}: no TRTSDT: treatment emergence unknown")
                )
            try:
                band = grade_band(grade)
            except ValueError as err:
                band = None
                notes.append(Note("ADAE", s.subject_id, f"{where}: {err}"))
            rows.append(
                {
                    **subject_identifiers(ctx.studyid, s),
                    "TRTA": trta.get(s.subject_id),
                    "AESPID": aeid,
                    "AETERM": verbatim,
                    "AEDECOD": term,
                    "AECTCV": version,
                    "AETOXGR": grade,
                    "GRDBAND": band,
                    "GRDVALFL": flag(valid),
                    "GRDVALRS": valid_reason,
                    "ASTDT": start,
                    "AENDT": end,
                    "ASTDY": cdisc_study_day(start, s.trtsdt),
                    "AENDY": cdisc_study_day(end, s.trtsdt),
                    "TRTEMFL": temfl,
                    "AESER": flag(optional_bool(r["serious"], "serious")),
                    "AEOUT": _text(r["outcome"]),
                    **attributions,
                    "AEREL": flag(bool(related)),
                    "AERELDRG": ", ".join(related) or None,
                }
            )
    frame = build_frame(rows, COLUMNS)
    if not frame.empty:
        frame = frame.sort_values(["USUBJID", "ASTDT", "AESPID"], kind="stable").reset_index(
            drop=True
        )
        _worst_flags(frame, ["USUBJID"], "AOCCIFL")
        _worst_flags(frame, ["USUBJID", "AEDECOD"], "AOCCPIFL")
    return Derived(frame, tuple(notes))
