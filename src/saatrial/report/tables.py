"""The report's tables, formatted the way the paper prints them.

:func:`build_tables` turns an :class:`~saatrial.report.analysis.Analysis`
into :class:`~saatrial.report.model.ReportTable` objects (cells are text):

* ``table1``: baseline characteristics by arm, with the test and p;
* ``table2``: treatment-emergent adverse events by CTCAE term, worst grade
  band and arm;
* ``response``: haematologic response at each visit (CR/PR/NR, ORR, Fisher p);
* ``survival``: Kaplan-Meier OS and FFS at 12-48 months, medians, log-rank p;
* ``anova``: the repeated-measures ANOVAs (arm x time interaction p).

Nothing is computed here: every number comes from the analysis (which gets
it from :mod:`saatrial.stats`); this module only formats. Medians and ranges
print as recorded ("0.07 (0–0.36)"), percentages as whole numbers
("4 (44%)"), p-values with three decimals ("0.153", "<0.001"), Kaplan-Meier
estimates as percent ± SE ("38.1 ± 17.2%").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import pandas as pd

from saatrial.derive import AnalysisDatasets
from saatrial.report.analysis import (
    ANOVA_SPECS,
    GRADE_BANDS,
    KM_LANDMARK_MONTHS,
    RESPONSE_CATEGORIES,
    Analysis,
    CategoricalComparison,
    ContinuousComparison,
)
from saatrial.report.model import ReportTable
from saatrial.stats import format_number, mean_sd, median_range, n_percent

__all__ = [
    "NOT_COMPUTED",
    "anova_table",
    "build_tables",
    "format_km",
    "format_p",
    "response_table",
    "survival_table",
    "table1",
    "table2",
]

#: Cell text of a number that could not be computed (the reason is a footnote).
NOT_COMPUTED = "NA"
_BAND_LABEL = {"1-2": "grade 1–2", "3-4": "grade 3–4", "5": "grade 5", "any": "any grade"}
_RESPONSE_LABEL = {"CR": "CR", "PR": "PR", "NR": "NR", "NE": "NE (not evaluable)"}


def format_p(p: float | None) -> str:
    """Format a p-value: three decimals, ``"<0.001"`` below, ``"NA"`` when missing.

    Examples
    --------
    >>> format_p(0.15289), format_p(0.0004), format_p(None), format_p(1.0)
    ('0.153', '<0.001', 'NA', '1.000')
    """
    if p is None or pd.isna(p):
        return NOT_COMPUTED
    if p < 0.001:
        return "<0.001"
    return format_number(p, 3)


def format_km(estimate: float | None, se: float | None) -> str:
    """Format a survival estimate and its SE in percent, e.g. ``"38.1 ± 17.2%"``.

    Examples
    --------
    >>> format_km(0.38095, 0.17222), format_km(1.0, 0.0), format_km(None, None)
    ('38.1 ± 17.2%', '100.0 ± 0.0%', 'NA')
    """
    if estimate is None or pd.isna(estimate):
        return NOT_COMPUTED
    se_text = NOT_COMPUTED if se is None or pd.isna(se) else format_number(100 * se, 1)
    return f"{format_number(100 * estimate, 1)} ± {se_text}%"


def _arm_headers(analysis: Analysis) -> dict[str, str]:
    return {arm: f"{analysis.arm_labels[arm]} (n = {analysis.arm_n[arm]})"
            for arm in analysis.arms}


def _frame(rows: list[dict[str, str]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns), dtype=object).fillna("")


# ---------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------
def table1(analysis: Analysis) -> ReportTable:
    """Table 1: baseline characteristics by arm, with the test used and its p.

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    ReportTable
        Columns ``Characteristic``, one per arm (``"<label> (n = N)"``),
        ``Test``, ``p``. Continuous characteristics take two rows: median
        (range) with the Mann-Whitney U test, mean ± SD with Student's t-test
        (the paper's test). Categorical ones take one row per category, with
        Pearson's chi-square and Fisher's exact test on the first.
    """
    headers = _arm_headers(analysis)
    columns = ["Characteristic", *headers.values(), "Test", "p"]
    rows: list[dict[str, str]] = [
        {"Characteristic": "Patients, n", **{headers[a]: str(analysis.arm_n[a])
                                             for a in analysis.arms}}
    ]
    notes: list[str] = []
    for item in analysis.baseline:
        if isinstance(item, CategoricalComparison):
            for i, level in enumerate(item.levels):
                row = {"Characteristic": f"{item.label}: {level}, n (%)"}
                for arm in analysis.arms:
                    total = item.totals[arm]
                    row[headers[arm]] = (n_percent(item.counts[arm][level], total) if total
                                         else NOT_COMPUTED)
                if i == 0 and (item.chi_square or item.fisher):
                    row["Test"] = "Pearson χ²; Fisher's exact"
                    row["p"] = f"{format_p(_p(item.chi_square))}; {format_p(_p(item.fisher))}"
                elif i == 0:
                    row["Test"], row["p"] = "not computed", NOT_COMPUTED
                rows.append(row)
            if item.note:
                notes.append(f"{item.label}: {item.note}.")
        else:
            assert isinstance(item, ContinuousComparison)
            var = item.variable
            median_row = {"Characteristic": f"{var.label} ({var.unit}), median (range)",
                          "Test": _test_name("Mann–Whitney U", item.mann_whitney),
                          "p": format_p(_p(item.mann_whitney))}
            mean_row = {"Characteristic": f"{var.label} ({var.unit}), mean ± SD",
                        "Test": _test_name("Student's t", item.student_t),
                        "p": format_p(_p(item.student_t))}
            for arm in analysis.arms:
                s = item.summaries[arm]
                median_row[headers[arm]] = median_range(s) if s.n else NOT_COMPUTED
                mean_row[headers[arm]] = mean_sd(s, var.digits) if s.n else NOT_COMPUTED
            rows.extend([median_row, mean_row])
            if item.note:
                notes.append(f"{var.label}: {item.note}.")
    footnotes = (
        "Baseline = last value on or before study day 1, the first rATG dose (D7); "
        "counts in 10^9/L, haemoglobin in g/L.",
        "Continuous: median (range) with the Mann–Whitney U test (exact without ties, "
        "otherwise normal approximation) and mean ± SD with Student's t-test (equal "
        "variances; the paper's test). Categorical: n (%) with Pearson's χ² test and "
        "Fisher's exact test beside it (expected counts < 5 with 9 per arm, TRIAL.md 7).",
        "vSAA: SAA with ANC < 0.2 × 10^9/L (D3); severity per modified Camitta (D1, D2).",
        *notes,
    )
    return ReportTable("table1", "Table 1. Baseline characteristics by arm",
                       _frame(rows, columns), footnotes)


def _p(result: object) -> float | None:
    return None if result is None else getattr(result, "pvalue", None)


def _test_name(name: str, result: object) -> str:
    return name if result is not None else "not computed"


# ---------------------------------------------------------------------------
# Table 2
# ---------------------------------------------------------------------------
def _count_cell(n: int, total: int) -> str:
    return n_percent(n, total) if n and total else str(n)


def table2(analysis: Analysis) -> ReportTable:
    """Table 2: treatment-emergent adverse events by CTCAE term, worst grade and arm.

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    ReportTable
        One row for any event, one per CTCAE term, then the term groups of
        ``ae_groups.yaml`` (anaphylactic reactions per D17, infections);
        per arm the subjects by worst grade band (1–2, 3–4, 5) and with any
        grade, n (%); ``p``: Fisher's exact test on any grade.
    """
    versions = analysis.settings.get("ctcae_versions") or []
    term_header = "Adverse event" + (f" (CTCAE v{', v'.join(versions)})" if versions else "")
    columns = [term_header]
    for arm in analysis.arms:
        columns += [f"{analysis.arm_labels[arm]}: {_BAND_LABEL[b]}" for b in (*GRADE_BANDS,
                                                                            "any")]
    columns.append("p (any grade)")
    rows: list[dict[str, str]] = []
    for item in analysis.adverse_events:
        label = f"Group: {item.term}" if item.kind == "group" else item.term
        row = {term_header: label}
        for arm in analysis.arms:
            for band in (*GRADE_BANDS, "any"):
                header = f"{analysis.arm_labels[arm]}: {_BAND_LABEL[band]}"
                row[header] = _count_cell(item.counts[arm][band], analysis.arm_n[arm])
        row["p (any grade)"] = format_p(_p(item.fisher_any))
        rows.append(row)
    footnotes = (
        "Subjects with at least one treatment-emergent event (onset on or after the first "
        "rATG dose), counted once at their worst grade; percentages of all allocated "
        "subjects of the arm.",
        "p: Fisher's exact test (two-sided) of subjects with vs without the event, any grade.",
        "Anaphylactic reactions are coded 'Allergic reaction' (grade 1–2) or 'Anaphylaxis' "
        "(grade ≥ 3) per D17; term groups from ae_groups.yaml "
        f"v{analysis.settings.get('ae_groups_version', '?')}.",
        "Laboratory abnormalities appear only where the investigator recorded them as "
        "adverse events (D18: SAA patients start at grade 4 cytopenias).",
    )
    return ReportTable("table2", "Table 2. Treatment-emergent adverse events by CTCAE term, "
                       "worst grade and arm", _frame(rows, columns), footnotes)


# ---------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------
def response_table(analysis: Analysis) -> ReportTable:
    """Haematologic response at each protocol visit, by arm.

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    ReportTable
        Per visit: CR, PR, NR (and NE when any) as n (%), then ORR (CR + PR);
        ``p``: Fisher's exact test on the category x arm table (first row)
        and on responders vs not (ORR row).
    """
    headers = _arm_headers(analysis)
    columns = ["Visit", "Response", *headers.values(), "Test", "p"]
    rows: list[dict[str, str]] = []
    fallback: list[str] = []
    for code, vr in analysis.responses.items():
        shown = [c for c in RESPONSE_CATEGORIES
                 if c != "NE" or any(vr.counts[a]["NE"] for a in analysis.arms)]
        for i, cat in enumerate(shown):
            row = {"Visit": vr.label if i == 0 else "", "Response": _RESPONSE_LABEL[cat]}
            for arm in analysis.arms:
                row[headers[arm]] = _count_cell(vr.counts[arm][cat], vr.n[arm])
            if i == 0 and vr.fisher_categories is not None:
                row["Test"] = "Fisher's exact (response × arm)"
                row["p"] = format_p(vr.fisher_categories.pvalue)
            rows.append(row)
        orr = {"Visit": "", "Response": "ORR (CR + PR)"}
        for arm in analysis.arms:
            orr[headers[arm]] = _count_cell(vr.responders[arm], vr.n[arm])
        if vr.fisher_orr is not None:
            orr["Test"] = "Fisher's exact (ORR)"
            orr["p"] = format_p(vr.fisher_orr.pvalue)
        rows.append(orr)
        fallback.append(f"{code}: " + ", ".join(f"{analysis.arm_labels[a]} "
                                                f"{vr.nr_by_fallback[a]}"
                                                for a in analysis.arms))
    criteria = ", ".join(analysis.settings.get("criteria_sets") or []) or "unknown"
    windows = "; ".join(f"{code} ± {w} days" for code, (_, w, _) in
                        analysis.settings.get("visits", {}).items())
    footnotes = (
        f"Response computed from blood counts and transfusions with criteria set {criteria} "
        "(TRIAL.md 4: D10 ARC rise, D11 28-day transfusion independence, D12 CR needs "
        f"transfusion independence, D13 haemoglobin normal for age); windows {windows} (D9).",
        "NR by the D14 fallback (neither CR nor PR criteria met): " + "; ".join(fallback) + ".",
        "Denominator: all allocated subjects; NE (no assessment in the window) counts as not "
        "responding in the ORR.",
    )
    return ReportTable("response", "Haematologic response by visit and arm",
                       _frame(rows, columns), footnotes)


# ---------------------------------------------------------------------------
# Survival
# ---------------------------------------------------------------------------
def survival_table(analysis: Analysis) -> ReportTable:
    """Kaplan-Meier OS and FFS by arm: estimates ± SE at 12-48 months, medians, log-rank p.

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    ReportTable
    """
    km_cols = [f"{t:g} months" for t in KM_LANDMARK_MONTHS]
    columns = ["Endpoint", "Arm", "n", "Events", "Censored", *km_cols, "Median (months)",
               "Log-rank p", "Exact log-rank p"]
    names = {"OS": "Overall survival", "FFS": "Failure-free survival"}
    rows: list[dict[str, str]] = []
    for paramcd in ("OS", "FFS"):
        first = True
        for arm in analysis.arms:
            s = analysis.survival.get((paramcd, arm))
            row = {"Endpoint": names[paramcd] if first else "",
                   "Arm": analysis.arm_labels[arm]}
            if s is None:
                row.update({c: NOT_COMPUTED for c in ("n", "Events", "Censored", *km_cols,
                                                      "Median (months)")})
            else:
                row.update({"n": str(s.n), "Events": str(s.n_events),
                            "Censored": str(s.n_censored)})
                for t, col in zip(KM_LANDMARK_MONTHS, km_cols, strict=True):
                    at = s.landmarks.get(t)
                    row[col] = NOT_COMPUTED if at is None else format_km(at.estimate, at.se)
                row["Median (months)"] = ("not reached" if pd.isna(s.median)
                                          else format_number(s.median, 1))
            if first:
                row["Log-rank p"] = format_p(_p(analysis.logrank.get(paramcd)))
                row["Exact log-rank p"] = format_p(_p(analysis.exact_logrank.get(paramcd)))
            rows.append(row)
            first = False
    per_month = analysis.settings.get("days_per_month", 30.4375)
    fu = analysis.followup
    fu_text = ("Follow-up not computed." if fu is None else
               f"Median follow-up {format_number(fu.median_observed, 1)} months (median of "
               f"observed times; range {format_number(fu.min_observed, 1)}–"
               f"{format_number(fu.max_observed, 1)}); reverse Kaplan-Meier median "
               + ("not reached" if pd.isna(fu.median) else
                  f"{format_number(fu.median, 1)} months") + ".")
    footnotes = (
        f"Time from the first rATG dose (D7); months = days / {per_month:g}. OS: death from "
        "any cause (HSCT does not censor). FFS: treatment failure dated at salvage therapy "
        "(D15), relapse (D16) or death.",
        "Kaplan-Meier estimate ± Greenwood SE, in percent; NA: the arm's follow-up ends "
        "before that time. Log-rank: Mantel-Haenszel chi-square test; exact: permutation "
        "distribution over all relabelings of the arms.",
        fu_text,
    )
    return ReportTable("survival", "Overall and failure-free survival by arm",
                       _frame(rows, columns), footnotes)


# ---------------------------------------------------------------------------
# ANOVA
# ---------------------------------------------------------------------------
def _visit_text(visits: Sequence[str]) -> str:
    return ", ".join("baseline" if v == "BASELINE" else v for v in visits)


def anova_table(analysis: Analysis) -> ReportTable:
    """The two-factor repeated-measures ANOVAs: arm x time interaction per parameter.

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    ReportTable
        Parameter, visits, subjects analysed per arm, F (df), the
        uncorrected interaction p (the paper's), Greenhouse-Geisser and
        Huynh-Feldt p, and the linear mixed model p (all observed values).
    """
    columns = ["Parameter", "Visits", "Subjects analysed", "F (df)", "p (arm × time)",
               "p (GG)", "p (HF)", "Mixed model p"]
    rows: list[dict[str, str]] = []
    reasons = _reasons(analysis)
    notes: list[str] = []
    for spec in ANOVA_SPECS:
        res = analysis.anova.get(spec.key)
        lm = analysis.mixed_lm.get(spec.key)
        row = {"Parameter": f"{spec.label} ({spec.unit})", "Visits": _visit_text(spec.visits),
               "Mixed model p": format_p(None if lm is None else lm.interaction_p)}
        if res is None:
            row.update({c: NOT_COMPUTED for c in ("Subjects analysed", "F (df)",
                                                  "p (arm × time)", "p (GG)", "p (HF)")})
            reason = reasons.get(f"repeated_measures_anova_p.{spec.key}")
            if reason:
                notes.append(f"{spec.label}: {reason}.")
        else:
            tab = res.table
            f_value = float(cast(float, tab.loc[res.interaction, "F"]))
            df1 = float(cast(float, tab.loc[res.interaction, "df"]))
            df2 = float(cast(float, tab.loc["Error (within subjects)", "df"]))
            row["Subjects analysed"] = ", ".join(
                f"{analysis.arm_labels.get(str(a), str(a))} {n}"
                for a, n in res.n_per_group.items())
            row["F (df)"] = f"{format_number(f_value, 2)} ({df1:g}, {df2:g})"
            row["p (arm × time)"] = format_p(analysis.anova_p.get(spec.key))
            row["p (GG)"] = format_p(analysis.anova_p_gg.get(spec.key))
            row["p (HF)"] = format_p(analysis.anova_p_hf.get(spec.key))
        rows.append(row)
    footnotes = (
        "Two-factor repeated-measures (mixed) ANOVA: arm between subjects × visit within "
        "subjects, Type III sums of squares, complete cases; the p-value of the arm × time "
        "interaction is uncorrected (sphericity assumed), as the paper reports; GG and HF: "
        "Greenhouse-Geisser and Huynh-Feldt corrected.",
        "Mixed model: random subject intercept (REML), Wald chi-square test of the arm × "
        "time interaction on every observed value (subjects with a missing visit stay in).",
        "The value used at a visit is the one nearest the target day inside the window (D9).",
        *notes,
    )
    return ReportTable("anova", "Blood counts and T-cell subsets over time: repeated-measures "
                       "ANOVA", _frame(rows, columns), footnotes)


def _reasons(analysis: Analysis) -> Mapping[str, str]:
    extra = analysis.results.get("extra", {})
    reasons = extra.get("not_computed", {}) if isinstance(extra, Mapping) else {}
    return reasons if isinstance(reasons, Mapping) else {}


def build_tables(ads: AnalysisDatasets, analysis: Analysis) -> list[ReportTable]:
    """All tables of the report, in printing order.

    Parameters
    ----------
    ads : AnalysisDatasets
        The datasets the analysis was run on (kept for the interface; every
        number is taken from ``analysis``).
    analysis : Analysis
        From :func:`saatrial.report.analysis.analyze`.

    Returns
    -------
    list of ReportTable
        ``table1``, ``table2``, ``response``, ``survival``, ``anova``.

    Examples
    --------
    >>> from saatrial.study import load_bundled_study
    >>> from saatrial.derive import derive_all
    >>> from saatrial.protocol import load_protocol
    >>> from saatrial.report.analysis import analyze
    >>> ads = derive_all(load_bundled_study())
    >>> tables = build_tables(ads, analyze(ads, load_protocol()))
    >>> [t.key for t in tables]
    ['table1', 'table2', 'response', 'survival', 'anova']
    >>> t1 = tables[0].frame.set_index("Characteristic")
    >>> t1.loc["ANC (10^9/L), median (range)"].iloc[0]
    '0.07 (0–0.36)'
    """
    del ads  # every number comes from the analysis
    return [table1(analysis), table2(analysis), response_table(analysis),
            survival_table(analysis), anova_table(analysis)]
