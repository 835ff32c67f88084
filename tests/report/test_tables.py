"""The report tables: published numbers as printed, p-values equal to direct scipy calls.

Expected cell texts are written from the paper's text and
``published_results.yaml`` (e.g. "4 (1–10)", "0.07 (0–0.36)", "38.1 ± 17.2%");
every p-value of Table 1 is recomputed here with scipy on the ADSL columns.
"""

from __future__ import annotations

import doctest

import pandas as pd
import pytest
from scipy import stats as sps

from saatrial.report import tables
from saatrial.report.model import ReportTable
from saatrial.report.tables import build_tables, format_km, format_p

from ._r1_support import (
    bundled,
    published,
    short_msc_follow_up,
    single_arm,
    without_day90_labs,
)

MSC, CTL = "UC-MSC + IST (n = 9)", "IST alone (n = 9)"


def by_key(ads_analysis) -> dict[str, ReportTable]:
    ads, analysis = ads_analysis
    return {t.key: t for t in build_tables(ads, analysis)}


def table(key: str) -> pd.DataFrame:
    return by_key(bundled())[key].frame


def cell(frame: pd.DataFrame, first_col_value: str, column: str) -> str:
    rows = frame[frame.iloc[:, 0] == first_col_value]
    assert len(rows) == 1, f"{first_col_value!r}: {len(rows)} rows"
    return str(rows.iloc[0][column])


def p3(p: float) -> str:
    """Independent formatting of a p-value to three decimals."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


# ---------------------------------------------------------------------------
# All tables
# ---------------------------------------------------------------------------
def test_table_keys_titles_and_text_cells() -> None:
    built = build_tables(*bundled())
    assert [t.key for t in built] == ["table1", "table2", "response", "survival", "anova"]
    for t in built:
        assert t.title and t.footnotes
        assert all(isinstance(v, str) for v in t.frame.to_numpy().ravel()), t.key


# ---------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------
def test_table1_columns() -> None:
    assert list(table("table1").columns) == ["Characteristic", MSC, CTL, "Test", "p"]


@pytest.mark.parametrize(
    ("row", "printed"),
    [
        # Results, 'Patient characteristics' (published_results.yaml baseline_msc)
        ("Age at diagnosis (years), median (range)", "4 (1–10)"),
        ("Diagnosis to first rATG (days), median (range)", "26 (9–159)"),
        ("ANC (10^9/L), median (range)", "0.07 (0–0.36)"),
        ("Platelets (10^9/L), median (range)", "10 (1–18)"),
        ("Haemoglobin (g/L), median (range)", "76 (47–117)"),
        ("Reticulocytes (ARC) (10^9/L), median (range)", "5.4 (2.6–32.8)"),
        ("Sex: Male, n (%)", "3 (33%)"),
        ("Sex: Female, n (%)", "6 (67%)"),
        ("Severity at baseline: vSAA, n (%)", "7 (78%)"),  # '7 (78%) ... vSAA'
        ("Patients, n", "9"),
    ],
)
def test_table1_msc_column_as_printed(row: str, printed: str) -> None:
    assert cell(table("table1"), row, MSC) == printed


def test_table1_control_anc_median() -> None:
    text = cell(table("table1"), "ANC (10^9/L), median (range)", CTL)
    assert text.startswith(f"{published()['baseline_control']['anc_median']} (")


CONTINUOUS = [("AGE", "Age at diagnosis (years)"), ("DIAG2TRT", "Diagnosis to first rATG (days)"),
              ("WEIGHTBL", "Weight (kg)"), ("BANC", "ANC (10^9/L)"),
              ("BPLT", "Platelets (10^9/L)"), ("BHGB", "Haemoglobin (g/L)"),
              ("BARC", "Reticulocytes (ARC) (10^9/L)")]


@pytest.mark.parametrize(("column", "label"), CONTINUOUS)
def test_table1_continuous_p_values_equal_scipy(column: str, label: str) -> None:
    ads, _ = bundled()
    msc = ads.adsl.loc[ads.adsl["ARMCD"] == "MSC", column].astype(float)
    ctl = ads.adsl.loc[ads.adsl["ARMCD"] == "CONTROL", column].astype(float)
    t1 = table("table1")
    t_p = sps.ttest_ind(msc, ctl, equal_var=True).pvalue
    assert cell(t1, f"{label}, mean ± SD", "p") == p3(t_p)
    assert cell(t1, f"{label}, mean ± SD", "Test") == "Student's t"
    mw_p = sps.mannwhitneyu(msc, ctl, alternative="two-sided").pvalue
    assert cell(t1, f"{label}, median (range)", "p") == p3(mw_p)
    d = 2 if column == "BANC" else 1
    assert cell(t1, f"{label}, mean ± SD", MSC) == f"{msc.mean():.{d}f} ± {msc.std(ddof=1):.{d}f}"


@pytest.mark.parametrize(("column", "codes", "row"),
                         [("SEX", ["M", "F"], "Sex: Male, n (%)"),
                          ("SEVBL", ["VSAA", "SAA"], "Severity at baseline: vSAA, n (%)")])
def test_table1_categorical_p_values_equal_scipy(column: str, codes: list[str], row: str) -> None:
    ads, _ = bundled()
    counts = [[int(((ads.adsl["ARMCD"] == arm) & (ads.adsl[column] == c)).sum()) for c in codes]
              for arm in ("MSC", "CONTROL")]
    chi_p = sps.chi2_contingency(counts, correction=False).pvalue
    fisher_p = sps.fisher_exact(counts).pvalue
    assert cell(table("table1"), row, "p") == f"{p3(chi_p)}; {p3(fisher_p)}"
    assert cell(table("table1"), row, "Test") == "Pearson χ²; Fisher's exact"


def test_table1_single_arm_has_no_tests() -> None:
    frame = by_key(single_arm())["table1"].frame
    assert list(frame.columns) == ["Characteristic", MSC, "Test", "p"]
    assert cell(frame, "ANC (10^9/L), median (range)", MSC) == "0.07 (0–0.36)"
    assert cell(frame, "ANC (10^9/L), median (range)", "p") == "NA"
    assert cell(frame, "ANC (10^9/L), median (range)", "Test") == "not computed"
    assert any("no test" in f for f in by_key(single_arm())["table1"].footnotes)


# ---------------------------------------------------------------------------
# Table 2
# ---------------------------------------------------------------------------
def test_table2_anaphylactic_reactions_as_published() -> None:
    """'4 (44%) ... anaphylactic reactions (three with grade 1-2 and one with grade 3)'."""
    t2 = table("table2")
    row = "Group: Anaphylactic reaction (Allergic reaction or Anaphylaxis, D17)"
    assert cell(t2, row, "UC-MSC + IST: any grade") == "4 (44%)"
    assert cell(t2, row, "UC-MSC + IST: grade 1–2") == "3 (33%)"
    assert cell(t2, row, "UC-MSC + IST: grade 3–4") == "1 (11%)"
    assert cell(t2, row, "IST alone: any grade") == "1 (11%)"
    assert cell(t2, row, "p (any grade)") == p3(sps.fisher_exact([[4, 5], [1, 8]]).pvalue)


def test_table2_mucositis_and_infections() -> None:
    t2 = table("table2")
    assert cell(t2, "Mucositis oral", "UC-MSC + IST: grade 1–2") == "1 (11%)"  # grade 2
    infection = "Group: Infection (CTCAE SOC Infections and infestations)"
    assert cell(t2, infection, "UC-MSC + IST: grade 5") == "1 (11%)"  # fatal sepsis
    assert cell(t2, infection, "IST alone: grade 3–4") == "1 (11%)"
    assert cell(t2, "Sepsis", "IST alone: any grade") == "0"
    assert t2.columns[0] == "Adverse event (CTCAE v4.03)"


# ---------------------------------------------------------------------------
# Response
# ---------------------------------------------------------------------------
def response_rows(frame: pd.DataFrame, visit_label: str) -> pd.DataFrame:
    start = frame.index[frame["Visit"] == visit_label][0]
    stop = frame.index[(frame["Visit"] != "") & (frame.index > start)]
    return frame.loc[start: (stop[0] - 1) if len(stop) else None].set_index("Response")


def test_response_day90_as_published() -> None:
    rows = response_rows(table("response"), "day 90 (3 months)")
    assert rows.loc["CR", MSC] == "0" and rows.loc["CR", CTL] == "0"
    assert rows.loc["PR", MSC] == "1 (11%)" and rows.loc["PR", CTL] == "2 (22%)"
    assert rows.loc["NR", MSC] == "8 (89%)" and rows.loc["NR", CTL] == "7 (78%)"
    assert rows.loc["ORR (CR + PR)", "p"] == p3(sps.fisher_exact([[1, 8], [2, 7]]).pvalue)
    assert "NE (not evaluable)" not in rows.index


def test_response_table_shows_ne_when_visits_are_missing() -> None:
    rows = response_rows(by_key(without_day90_labs())["response"].frame, "day 90 (3 months)")
    assert rows.loc["NE (not evaluable)", MSC] == "9 (100%)"


# ---------------------------------------------------------------------------
# Survival
# ---------------------------------------------------------------------------
def test_survival_table_as_published() -> None:
    """'88.9 ± 10.5%' (OS, both), '38.1 ± 17.2% vs. 66.7 ± 15.7%, p = 0.153' (FFS)."""
    frame = table("survival")
    assert list(frame["48 months"]) == ["88.9 ± 10.5%", "88.9 ± 10.5%", "38.1 ± 17.2%",
                                        "66.7 ± 15.7%"]
    ffs = frame[frame["Endpoint"] == "Failure-free survival"].iloc[0]
    assert ffs["Log-rank p"] == "0.153"
    assert list(frame["Events"]) == ["1", "1", "5", "3"]


def test_survival_table_short_follow_up_prints_na_with_reason() -> None:
    t = by_key(short_msc_follow_up())["survival"]
    msc = t.frame[t.frame["Arm"] == "UC-MSC + IST"]
    assert list(msc["48 months"]) == ["NA", "NA"]
    assert any("ends before" in f for f in t.footnotes)


# ---------------------------------------------------------------------------
# ANOVA
# ---------------------------------------------------------------------------
def test_anova_table_p_values_as_published() -> None:
    frame = table("anova")
    expected = [f"{v:.3f}" for v in published()["repeated_measures_anova_p"].values()]
    assert list(frame["p (arm × time)"]) == expected


def test_anova_table_not_computed_rows_say_why() -> None:
    t = by_key(without_day90_labs())["anova"]
    assert list(t.frame["p (arm × time)"])[:4] == ["NA"] * 4
    assert any("fewer than 2 subjects with every visit" in f for f in t.footnotes)


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "text"), [(0.153, "0.153"), (0.0015, "0.002"), (0.001, "0.001"),
                                         (0.000999, "<0.001"), (0.9995, "1.000"),
                                         (0.1525, "0.153"), (None, "NA"),
                                         (float("nan"), "NA")])
def test_format_p(p: float | None, text: str) -> None:
    assert format_p(p) == text


def test_format_km() -> None:
    assert format_km(0.38095, 0.17222) == "38.1 ± 17.2%"
    assert format_km(0.6666667, 0.1571348) == "66.7 ± 15.7%"
    assert format_km(1.0, float("nan")) == "100.0 ± NA%"
    assert format_km(None, None) == "NA"


def test_doctests() -> None:
    assert doctest.testmod(tables, raise_on_error=False).failed == 0
