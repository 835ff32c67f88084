"""Eligibility of a child for the trial (TRIAL.md section 1, D4-D6).

Each criterion is judged separately and every failed criterion is returned
with its reason and decision id; a criterion that could not be judged (test
not done, value or ULN missing) fails with reason "not assessed", never passes
silently. Parameters come as the protocol's ``eligibility`` mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from saatrial.rules.age import add_months, add_years, completed_years
from saatrial.rules.frames import first_ratg_date, lab_values, last_on_or_before, subject_rows
from saatrial.rules.severity import Severity, SeverityLevel
from saatrial.rules.types import DateLike, is_missing, le, optional_bool, to_date

#: Defaults of TRIAL.md D4-D6 (the keys of a protocol file's ``eligibility`` block).
DEFAULT_PARAMS: Mapping[str, Any] = {
    "age_min_months": 1,  # D4
    "age_max_years": 18,  # D4
    "max_days_diagnosis_to_atg": 180,  # D6
    "alt_ast_max_x_uln": 5.0,  # D5
    "creatinine_max_x_uln": 1.5,  # D5
    "ecog_max": 2,  # D5
    "lansky_min": 50,  # D5
    "ecog_from_age_years": 16,  # D5
    "required_severity": ("SAA", "VSAA"),
    "exclude_hla_matched_sibling": True,
}


@dataclass(frozen=True)
class Criterion:
    """One eligibility criterion and how it was judged.

    Attributes
    ----------
    name : str
        Short name (``age``, ``severity``, ``fanconi_mmc``, ``alt``, ...).
    reason : str
        What was found, with values and limits.
    decision_id : str or None
        TRIAL.md decision applied (``D4``, ``D5``, ``D6``), if any.
    """

    name: str
    reason: str
    decision_id: str | None = None


@dataclass(frozen=True)
class Eligibility:
    """Result of :func:`assess_eligibility`.

    Attributes
    ----------
    eligible : bool
        No criterion failed.
    failed, passed : tuple of Criterion
        The criteria in each state, in a fixed order.
    """

    eligible: bool
    failed: tuple[Criterion, ...]
    passed: tuple[Criterion, ...]

    def failed_names(self) -> list[str]:
        """Names of the failed criteria."""
        return [c.name for c in self.failed]


@dataclass(frozen=True)
class EligibilityInputs:
    """Everything eligibility needs about one child.

    Attributes
    ----------
    birth_date, diagnosis_date : date-like
        Age is judged at diagnosis (TRIAL.md section 1).
    first_atg_date : date-like
        First (or planned first) rATG dose (D6).
    screening_date : date-like or None
        Date of the performance assessment (age for ECOG vs Lansky); defaults to
        ``first_atg_date``.
    severity : Severity or str
        Severity level at baseline.
    mitomycin_c_test, comet_assay, ngs_ibmfs : {"NEG", "POS", "ND"}
        Inherited marrow failure work-up.
    hla_matched_sibling : bool or None
        An HLA-matched sibling donor is available.
    ecog, lansky : int or None
        Performance status.
    alt_u_per_l, alt_uln_u_per_l, ast_u_per_l, ast_uln_u_per_l : float or None
        Transaminases and their ULN.
    creatinine_umol_per_l, creatinine_uln_umol_per_l : float or None
        Creatinine and its ULN for age.
    """

    birth_date: DateLike
    diagnosis_date: DateLike
    first_atg_date: DateLike
    severity: Severity | str | None
    mitomycin_c_test: str | None
    comet_assay: str | None
    ngs_ibmfs: str | None
    hla_matched_sibling: bool | None
    ecog: int | None = None
    lansky: int | None = None
    alt_u_per_l: float | None = None
    alt_uln_u_per_l: float | None = None
    ast_u_per_l: float | None = None
    ast_uln_u_per_l: float | None = None
    creatinine_umol_per_l: float | None = None
    creatinine_uln_umol_per_l: float | None = None
    screening_date: DateLike | None = None


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(DEFAULT_PARAMS)
    for key, value in (params or {}).items():
        if key not in DEFAULT_PARAMS:
            raise ValueError(
                f"eligibility parameters: {key!r}: unknown (known: {sorted(DEFAULT_PARAMS)})"
            )
        merged[key] = value
    return merged


def _fmt(x: float) -> str:
    return format(x, "g")


def assess_eligibility(
    inputs: EligibilityInputs, params: Mapping[str, Any] | None = None
) -> Eligibility:
    """Judge every eligibility criterion of the protocol for one child.

    Criteria (TRIAL.md section 1):

    - age at diagnosis from the day the child is 1 month old to the 18th
      birthday itself, both inclusive (D4; calendar arithmetic, 29 Feb births
      have their birthday on 28 Feb in common years);
    - severity SAA or vSAA at baseline;
    - no inherited marrow failure: mitomycin C test, comet assay and NGS panel
      negative (positive -> excluded; not done -> "not assessed");
    - no HLA-matched sibling donor available;
    - ALT and AST <= 5 x ULN, creatinine <= 1.5 x ULN (D5; ULN missing -> failed);
    - ECOG <= 2 from age 16, Lansky >= 50 below 16 (D5);
    - newly diagnosed: <= 180 days from diagnosis to the first rATG dose (D6).

    Parameters
    ----------
    inputs : EligibilityInputs
        The child's data.
    params : Mapping[str, Any], optional
        The protocol's ``eligibility`` block; missing keys take the defaults of
        :data:`DEFAULT_PARAMS`; unknown keys are an error.

    Returns
    -------
    Eligibility

    References
    ----------
    Lan Y et al. BMC Pediatr 2021;21:102 (Methods). TRIAL.md D4-D6.

    Examples
    --------
    >>> x = EligibilityInputs(
    ...     birth_date="2010-03-01", diagnosis_date="2014-03-01", first_atg_date="2014-03-27",
    ...     severity="VSAA", mitomycin_c_test="NEG", comet_assay="NEG", ngs_ibmfs="NEG",
    ...     hla_matched_sibling=False, lansky=70, alt_u_per_l=40, alt_uln_u_per_l=40,
    ...     ast_u_per_l=35, ast_uln_u_per_l=40, creatinine_umol_per_l=30,
    ...     creatinine_uln_umol_per_l=50)
    >>> assess_eligibility(x).eligible
    True
    >>> from dataclasses import replace
    >>> e = assess_eligibility(replace(x, comet_assay="ND", hla_matched_sibling=True))
    >>> [(c.name, c.reason) for c in e.failed]  # doctest: +NORMALIZE_WHITESPACE
    [('fanconi_comet', 'comet assay not done: not assessed'),
     ('hla_matched_sibling', 'HLA-matched sibling donor available for HSCT: excluded')]
    """
    p = _params(params)
    failed: list[Criterion] = []
    passed: list[Criterion] = []

    def judge(ok: bool, name: str, reason: str, decision: str | None = None) -> None:
        (passed if ok else failed).append(Criterion(name, reason, decision))

    born = to_date(inputs.birth_date, "birth_date")
    diagnosed = to_date(inputs.diagnosis_date, "diagnosis_date")
    atg = to_date(inputs.first_atg_date, "first_atg_date")
    screened = to_date(inputs.screening_date or atg, "screening_date")

    # D4: from the day the child is 1 month old to the 18th birthday itself
    lo = add_months(born, int(p["age_min_months"]))
    hi = add_years(born, int(p["age_max_years"]))
    if diagnosed < lo:
        judge(
            False,
            "age",
            f"age at diagnosis {diagnosed}: younger than "
            f"{p['age_min_months']} month(s) (reached on {lo})",
            "D4",
        )
    elif diagnosed > hi:
        judge(
            False,
            "age",
            f"age at diagnosis {diagnosed}: after the {p['age_max_years']}th birthday ({hi})",
            "D4",
        )
    else:
        judge(True, "age", f"diagnosed {diagnosed} within {lo}..{hi}", "D4")

    # Severity
    level = inputs.severity.level if isinstance(inputs.severity, Severity) else inputs.severity
    allowed = [str(s) for s in p["required_severity"]]
    if level is None or is_missing(level):
        judge(False, "severity", "severity not assessed")
    else:
        try:
            lv = SeverityLevel(str(level))
        except ValueError:
            raise ValueError(
                f"severity: one of {[x.value for x in SeverityLevel]}: {level!r}"
            ) from None
        if lv is SeverityLevel.NOT_ASSESSABLE:
            why = (
                "; ".join(inputs.severity.reasons)
                if isinstance(inputs.severity, Severity)
                else "not assessable"
            )
            judge(False, "severity", f"severity not assessable: {why}", "D2")
        else:
            judge(
                lv.value in allowed,
                "severity",
                f"severity {lv.value} ({'in' if lv.value in allowed else 'not in'} {allowed})",
            )

    # Inherited marrow failure
    for name, label, value in (
        ("fanconi_mmc", "mitomycin C test", inputs.mitomycin_c_test),
        ("fanconi_comet", "comet assay", inputs.comet_assay),
        ("ngs_ibmfs", "NGS inherited marrow failure panel", inputs.ngs_ibmfs),
    ):
        code = None if value is None or is_missing(value) else str(value)
        if code == "NEG":
            judge(True, name, f"{label} negative")
        elif code == "POS":
            judge(False, name, f"{label} positive: inherited marrow failure, excluded")
        elif code in (None, "ND"):
            judge(False, name, f"{label} not done: not assessed")
        else:
            raise ValueError(f"{name}: code NEG/POS/ND: {value!r}")

    # HLA-matched sibling donor
    if p["exclude_hla_matched_sibling"]:
        sib = optional_bool(inputs.hla_matched_sibling, "hla_matched_sibling")
        if sib is None:
            judge(False, "hla_matched_sibling", "HLA-matched sibling donor: not assessed")
        elif sib:
            judge(
                False,
                "hla_matched_sibling",
                "HLA-matched sibling donor available for HSCT: excluded",
            )
        else:
            judge(True, "hla_matched_sibling", "no HLA-matched sibling donor")

    # D5: organ function as multiples of the ULN
    for name, label, amount, uln, factor in (
        ("alt", "ALT", inputs.alt_u_per_l, inputs.alt_uln_u_per_l, p["alt_ast_max_x_uln"]),
        ("ast", "AST", inputs.ast_u_per_l, inputs.ast_uln_u_per_l, p["alt_ast_max_x_uln"]),
        (
            "creatinine",
            "creatinine",
            inputs.creatinine_umol_per_l,
            inputs.creatinine_uln_umol_per_l,
            p["creatinine_max_x_uln"],
        ),
    ):
        limit_x = float(factor)
        if amount is None or is_missing(amount):
            judge(False, name, f"{label} not recorded: not assessed", "D5")
        elif uln is None or is_missing(uln):
            judge(False, name, f"{label} {_fmt(float(amount))}: ULN missing: not assessed", "D5")
        elif float(uln) <= 0:
            raise ValueError(f"{name}: ULN: > 0: {uln}")
        else:
            limit = limit_x * float(uln)
            ok = le(float(amount), limit)  # D5: <= factor x ULN (boundary passes)
            judge(
                ok,
                name,
                f"{label} {_fmt(float(amount))} {'<=' if ok else '>'} "
                f"{_fmt(limit_x)} x ULN {_fmt(float(uln))} = {_fmt(round(limit, 9))}",
                "D5",
            )

    # D5: performance status by age at screening
    age_years = completed_years(born, screened)
    if age_years >= int(p["ecog_from_age_years"]):
        ecog = inputs.ecog
        if ecog is None or is_missing(ecog):
            judge(False, "performance", f"age {age_years}: ECOG not recorded: not assessed", "D5")
        else:
            ok = int(ecog) <= int(p["ecog_max"])
            judge(
                ok,
                "performance",
                f"age {age_years}: ECOG {int(ecog)} {'<=' if ok else '>'} {p['ecog_max']}",
                "D5",
            )
    else:
        lansky = inputs.lansky
        if lansky is None or is_missing(lansky):
            judge(False, "performance", f"age {age_years}: Lansky not recorded: not assessed", "D5")
        else:
            ok = int(lansky) >= int(p["lansky_min"])
            judge(
                ok,
                "performance",
                f"age {age_years}: Lansky {int(lansky)} {'>=' if ok else '<'} {p['lansky_min']}",
                "D5",
            )

    # D6: newly diagnosed
    gap = (atg - diagnosed).days
    limit_days = int(p["max_days_diagnosis_to_atg"])
    if gap < 0:
        judge(False, "newly_diagnosed", f"first rATG {atg} before diagnosis {diagnosed}", "D6")
    else:
        ok = gap <= limit_days
        judge(
            ok,
            "newly_diagnosed",
            f"{gap} days from diagnosis to first rATG {'<=' if ok else '>'} {limit_days}",
            "D6",
        )

    return Eligibility(not failed, tuple(failed), tuple(passed))


def eligibility_inputs_from_tables(
    subject_id: str,
    subjects: pd.DataFrame,
    screening: pd.DataFrame,
    labs: pd.DataFrame,
    exposures: pd.DataFrame,
    severity: Severity | str | None,
) -> EligibilityInputs:
    """Collect :class:`EligibilityInputs` for a subject from the study tables.

    Study day 1 (first rATG, D7) comes from ``exposures``; ALT, AST and
    creatinine are the last values on or before it, with the ULN recorded on
    that lab row.

    Raises
    ------
    ValueError
        If the subject has no ``subjects``/``screening`` row or no rATG exposure.
    """
    subj = subject_rows(subjects, subject_id, "subjects")
    scr = subject_rows(screening, subject_id, "screening")
    if len(subj) != 1:
        raise ValueError(f"subjects: subject {subject_id}: expected 1 row, found {len(subj)}")
    if len(scr) != 1:
        raise ValueError(f"screening: subject {subject_id}: expected 1 row, found {len(scr)}")
    s, c = subj.iloc[0], scr.iloc[0]
    day1 = first_ratg_date(exposures, subject_id)
    if day1 is None:
        raise ValueError(f"exposures: subject {subject_id}: no RATG record (study day 1, D7)")

    def lab(test: str) -> tuple[float | None, float | None]:
        v = last_on_or_before(lab_values(labs, subject_id, test), day1)
        return (v.value, v.uln) if v else (None, None)

    alt, alt_uln = lab("ALT")
    ast, ast_uln = lab("AST")
    cr, cr_uln = lab("CREAT")

    def opt_int(x: Any) -> int | None:
        return None if is_missing(x) else int(x)

    def code(x: Any) -> str | None:
        return None if is_missing(x) else str(x)

    return EligibilityInputs(
        birth_date=to_date(s["birth_date"], f"subjects: {subject_id}: birth_date"),
        diagnosis_date=to_date(s["diagnosis_date"], f"subjects: {subject_id}: diagnosis_date"),
        first_atg_date=day1,
        screening_date=to_date(c["screening_date"], f"screening: {subject_id}: screening_date"),
        severity=severity,
        mitomycin_c_test=code(c["mitomycin_c_test"]),
        comet_assay=code(c["comet_assay"]),
        ngs_ibmfs=code(c["ngs_ibmfs"]),
        hla_matched_sibling=optional_bool(c["hla_matched_sibling"], "hla_matched_sibling"),
        ecog=opt_int(c.get("ecog")),
        lansky=opt_int(c.get("lansky")),
        alt_u_per_l=alt,
        alt_uln_u_per_l=alt_uln,
        ast_u_per_l=ast,
        ast_uln_u_per_l=ast_uln,
        creatinine_umol_per_l=cr,
        creatinine_uln_umol_per_l=cr_uln,
    )


__all__ = [
    "DEFAULT_PARAMS",
    "Criterion",
    "Eligibility",
    "EligibilityInputs",
    "assess_eligibility",
    "eligibility_inputs_from_tables",
]
