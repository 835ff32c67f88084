"""Table 1: baseline characteristics by arm, with the tests the paper used.

Continuous characteristics (ADSL columns, :data:`BASELINE_VARIABLES`) are
summarised per arm and compared with Student's t-test (the paper's test)
and the Mann-Whitney U test; categorical ones (sex, severity) with Pearson's
chi-square and Fisher's exact test beside it, since expected counts are
below 5 with 9 patients per arm (TRIAL.md 7). Tests compare exactly two arms;
anything that cannot be tested is logged with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from saatrial.report.analysis_common import ALPHA, AnalysisLog, finite_or_none, flag_mask, pvalue_of
from saatrial.stats import (
    ChiSquareResult,
    FisherResult,
    MannWhitneyResult,
    Summary,
    TTestResult,
    chi_square,
    fisher_exact,
    mann_whitney,
    student_t,
    summarize,
)

__all__ = [
    "BASELINE_VARIABLES",
    "SEVERITY_LABELS",
    "BaselineVariable",
    "CategoricalComparison",
    "ContinuousComparison",
    "balance_statement",
    "baseline_numbers",
    "compare_baseline",
]

#: Severity codes of ADSL SEVBL in printing order, with their labels.
SEVERITY_LABELS = {
    "VSAA": "vSAA",
    "SAA": "SAA (not very severe)",
    "NSAA": "NSAA",
    "NOT_AA": "Not aplastic anaemia",
    "NOT_ASSESSABLE": "Not assessable",
}


@dataclass(frozen=True)
class BaselineVariable:
    """A continuous baseline characteristic of Table 1 (an ADSL column).

    Attributes
    ----------
    key : str
        Stem of its ``results`` keys (``<key>_median``, ``<key>_range``).
    column : str
        ADSL column.
    label, unit : str
        Row label and unit.
    digits : int
        Decimals of mean ± SD (medians and ranges print as recorded).
    """

    key: str
    column: str
    label: str
    unit: str
    digits: int


#: Continuous rows of Table 1 (baseline = last value on or before day 1, D7).
BASELINE_VARIABLES: tuple[BaselineVariable, ...] = (
    BaselineVariable("age", "AGE", "Age at diagnosis", "years", 1),
    BaselineVariable("days_diagnosis_to_atg", "DIAG2TRT", "Diagnosis to first rATG", "days", 1),
    BaselineVariable("weight", "WEIGHTBL", "Weight", "kg", 1),
    BaselineVariable("anc", "BANC", "ANC", "10^9/L", 2),
    BaselineVariable("plt", "BPLT", "Platelets", "10^9/L", 1),
    BaselineVariable("hgb", "BHGB", "Haemoglobin", "g/L", 1),
    BaselineVariable("arc", "BARC", "Reticulocytes (ARC)", "10^9/L", 1),
)


@dataclass(frozen=True)
class ContinuousComparison:
    """A continuous characteristic by arm, with Student's t and Mann-Whitney.

    Attributes
    ----------
    variable : BaselineVariable
    summaries : dict
        Arm code -> :class:`~saatrial.stats.Summary`.
    student_t : TTestResult or None
        Student's t-test (the paper's test) of the first vs the second arm.
    mann_whitney : MannWhitneyResult or None
        Mann-Whitney U test of the same samples.
    note : str
        Why a test is missing (empty when both ran).
    """

    variable: BaselineVariable
    summaries: dict[str, Summary]
    student_t: TTestResult | None
    mann_whitney: MannWhitneyResult | None
    note: str = ""


@dataclass(frozen=True)
class CategoricalComparison:
    """A categorical characteristic by arm, with chi-square and Fisher's exact test.

    Attributes
    ----------
    key, label : str
        Identifier and row label.
    levels : tuple of str
        Category labels in printing order (only those present).
    counts : dict
        Arm code -> level -> subjects.
    totals : dict
        Arm code -> subjects with a known value.
    chi_square : ChiSquareResult or None
        Pearson's chi-square on the arm x level table.
    fisher : FisherResult or None
        Fisher's exact test on the same table (TRIAL.md 7: reported beside
        chi-square since expected counts are < 5).
    note : str
        Why a test is missing.
    """

    key: str
    label: str
    levels: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    totals: dict[str, int]
    chi_square: ChiSquareResult | None
    fisher: FisherResult | None
    note: str = ""


def _continuous(
    adsl: pd.DataFrame, var: BaselineVariable, arms: Sequence[str], log: AnalysisLog
) -> ContinuousComparison:
    samples = {
        arm: pd.to_numeric(adsl.loc[flag_mask(adsl["ARMCD"], arm), var.column], errors="coerce")
        .astype(float)
        .dropna()
        .to_numpy()
        for arm in arms
    }
    summaries = {arm: summarize(values) for arm, values in samples.items()}
    where = f"Table 1 ({var.label})"
    if len(arms) != 2:
        note = f"no test: the two-group tests need exactly 2 arms, the study has {len(arms)}"
        log.notice(where, note)
        return ContinuousComparison(var, summaries, None, None, note)
    a, b = (samples[arm] for arm in arms)
    if min(a.size, b.size) < 2:
        note = (f"no test: fewer than 2 values in an arm ({arms[0]}: {a.size}, "
                f"{arms[1]}: {b.size})")
        log.notice(where, note)
        return ContinuousComparison(var, summaries, None, None, note)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = student_t(a, b)
        mw = mann_whitney(a, b)
    log.used(t.method)
    log.used(mw.method)
    note = ""
    if finite_or_none(t.pvalue) is None:
        note = "Student's t-test undefined (no variation within the arms)"
        log.notice(where, note)
    return ContinuousComparison(var, summaries, t, mw, note)


def _categorical(
    key: str,
    label: str,
    values: pd.Series,
    arm_of: pd.Series,
    levels: Mapping[str, str],
    arms: Sequence[str],
    log: AnalysisLog,
) -> CategoricalComparison:
    """Arm x category counts; codes not in ``levels`` print as themselves."""
    codes = values.astype("string")
    present = [c for c in levels if flag_mask(codes, c).any()]
    present += sorted({str(c) for c in codes.dropna()} - set(levels))
    names = {c: levels.get(c, c) for c in present}
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for arm in arms:
        in_arm = flag_mask(arm_of, arm)
        counts[arm] = {names[c]: int((in_arm & flag_mask(codes, c)).sum()) for c in present}
        totals[arm] = int((in_arm & codes.notna().to_numpy()).sum())
    if codes.isna().any():
        log.notice(f"Table 1 ({label})", f"{int(codes.isna().sum())} subject(s) with no value")
    where = f"Table 1 ({label})"
    table = np.array([[counts[arm][names[c]] for c in present] for arm in arms], dtype=int)
    if len(arms) < 2 or len(present) < 2:
        note = ("no test: a single arm" if len(arms) < 2
                else f"no test: only one category ({', '.join(names.values()) or 'none'})")
        log.notice(where, note)
        return CategoricalComparison(key, label, tuple(names.values()), counts, totals,
                                     None, None, note)
    chi: ChiSquareResult | None = None
    note = ""
    try:
        chi = chi_square(table)
        log.used(chi.method)
    except ValueError as exc:
        note = f"chi-square not computed: {exc}"
        log.notice(where, note)
    fisher: FisherResult | None = None
    try:
        fisher = fisher_exact(table)
        log.used(fisher.method)
    except ValueError as exc:
        note = (note + "; " if note else "") + f"Fisher's exact test not computed: {exc}"
        log.notice(where, f"Fisher's exact test not computed: {exc}")
    return CategoricalComparison(key, label, tuple(names.values()), counts, totals, chi,
                                 fisher, note)


def compare_baseline(
    adsl: pd.DataFrame, arms: Sequence[str], log: AnalysisLog
) -> tuple[ContinuousComparison | CategoricalComparison, ...]:
    """Table 1 rows: sex, severity, then :data:`BASELINE_VARIABLES`, compared by arm.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL rows of the allocated subjects.
    arms : sequence of str
        Arm codes in printing order; the tests compare the first two.
    log : AnalysisLog
        Receives the methods used and every test that could not be run.

    Returns
    -------
    tuple
        :class:`CategoricalComparison` (sex, severity) and
        :class:`ContinuousComparison` rows.
    """
    rows: list[ContinuousComparison | CategoricalComparison] = []
    arm_of = adsl["ARMCD"]
    rows.append(_categorical("sex", "Sex", adsl["SEX"], arm_of, {"M": "Male", "F": "Female"},
                             arms, log))
    rows.append(_categorical("severity", "Severity at baseline", adsl["SEVBL"], arm_of,
                             SEVERITY_LABELS, arms, log))
    rows.extend(_continuous(adsl, var, arms, log) for var in BASELINE_VARIABLES)
    return tuple(rows)


def baseline_numbers(
    adsl: pd.DataFrame, baseline: Sequence[ContinuousComparison | CategoricalComparison],
    arms: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Per-arm baseline numbers under the published keys.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL rows of the allocated subjects.
    baseline : sequence
        The rows of :func:`compare_baseline`.
    arms : sequence of str

    Returns
    -------
    dict
        Arm -> ``{<key>_median, <key>_range, <key>_mean, <key>_sd, <key>_n}``
        for each continuous variable (``age``, ``days_diagnosis_to_atg``,
        ``weight``, ``anc``, ``plt``, ``hgb``, ``arc``), ``male``, ``female``,
        ``vsaa``, ``saa_not_vsaa`` and ``msc_doses_completed`` (subjects who
        received every planned UC-MSC dose, D7).
    """
    out: dict[str, dict[str, Any]] = {arm: {} for arm in arms}
    for row in baseline:
        if isinstance(row, ContinuousComparison):
            for arm in arms:
                s = row.summaries[arm]
                key = row.variable.key
                out[arm][f"{key}_median"] = finite_or_none(s.median)
                out[arm][f"{key}_range"] = (
                    [finite_or_none(s.min), finite_or_none(s.max)] if s.n else None)
                out[arm][f"{key}_mean"] = finite_or_none(s.mean)
                out[arm][f"{key}_sd"] = finite_or_none(s.sd)
                out[arm][f"{key}_n"] = s.n
        elif row.key == "sex":
            for arm in arms:
                out[arm]["male"] = row.counts[arm].get("Male", 0)
                out[arm]["female"] = row.counts[arm].get("Female", 0)
        elif row.key == "severity":
            for arm in arms:
                out[arm]["vsaa"] = row.counts[arm].get(SEVERITY_LABELS["VSAA"], 0)
                out[arm]["saa_not_vsaa"] = row.counts[arm].get(SEVERITY_LABELS["SAA"], 0)
    for arm in arms:
        rows = adsl[flag_mask(adsl["ARMCD"], arm)]
        received = pd.to_numeric(rows["MSCDOSN"], errors="coerce")
        planned = pd.to_numeric(rows["MSCDOSPL"], errors="coerce")
        complete = (planned > 0) & (received >= planned)
        out[arm]["msc_doses_completed"] = int(complete.fillna(False).sum())
        out[arm]["msc_doses_planned_subjects"] = int((planned > 0).fillna(False).sum())
    return out


def balance_statement(baseline: Sequence[ContinuousComparison | CategoricalComparison]) -> str:
    """Whether the arms are "well matched": no Table 1 test with p < 0.05 (TRIAL.md 7).

    Parameters
    ----------
    baseline : sequence
        The rows of :func:`compare_baseline`.

    Returns
    -------
    str
        Starts with ``"well matched"``, ``"not well matched"`` (naming the
        characteristics with p < 0.05) or ``"not assessed"``; gives the
        smallest p, its characteristic and test.
    """
    tested: list[tuple[float, str, str]] = []
    for row in baseline:
        label = row.variable.label if isinstance(row, ContinuousComparison) else row.label
        results: Iterable[Any] = (
            (row.student_t, row.mann_whitney) if isinstance(row, ContinuousComparison)
            else (row.chi_square, row.fisher)
        )
        for res in results:
            p = pvalue_of(res)
            if p is not None:
                tested.append((p, label, res.method))
    if not tested:
        return "not assessed: no baseline characteristic could be tested"
    p, label, method = min(tested)
    if p < ALPHA:
        different = sorted({lab for q, lab, _ in tested if q < ALPHA})
        return (f"not well matched: {', '.join(different)} differ between the arms "
                f"(smallest p = {p:.3f}, {label}, {method})")
    return (f"well matched: no baseline characteristic differs between the arms at "
            f"p < {ALPHA} ({len(tested)} tests; smallest p = {p:.3f}, {label}, {method})")
