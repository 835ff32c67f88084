"""Figures 1 and 2 (blood counts, T-cell subsets by visit and arm): numbers and notices.

Hand-worked: mean and SE = SD / sqrt(n) of small made-up ADLB records; for the
bundled study the means and SEs are cross-checked against an independent
computation (pandas groupby + scipy.stats.sem on the analysis records).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from saatrial.report.figures.blood_counts import (
    blood_counts_facts,
    blood_counts_figure,
    draw_blood_counts,
)
from saatrial.report.figures.tcells import draw_tcells, tcells_facts, tcells_figure

from ._figure_checks import bundled, check_png, check_svg, drawn_texts, text_problems, with_frames

LABELS = {"MSC": "UC-MSC + IST", "CONTROL": "IST alone"}


def adlb(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    """ADLB analysis records (subject, arm, PARAMCD, AVISIT, AVAL)."""
    units = {"PLT": "10^9/L", "ANC": "10^9/L", "ARC": "10^9/L", "HGB": "g/L"}
    return pd.DataFrame(
        {
            "SUBJID": [r[0] for r in rows],
            "ARMCD": [r[1] for r in rows],
            "TRTP": [LABELS.get(r[1], r[1]) for r in rows],
            "PARAMCD": [r[2] for r in rows],
            "AVISIT": [r[3] for r in rows],
            "ANL01FL": ["Y"] * len(rows),
            "AVAL": [float(r[4]) for r in rows],
            "AVALU": [units.get(r[2], "%") for r in rows],
        }
    )


def adsl(subjects: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SUBJID": list(subjects),
            "ARMCD": list(subjects.values()),
            "ARM": [LABELS[a] for a in subjects.values()],
        }
    )


def panel(facts, paramcd):
    return next(p for p in facts.panels if p.paramcd == paramcd)


def arm_of(panel_facts, code):
    return next(a for a in panel_facts.arms if a.arm == code)


# --- hand-worked -------------------------------------------------------------------------

SMALL = adlb(
    [
        ("M1", "MSC", "PLT", "BASELINE", 10),
        ("M1", "MSC", "PLT", "D40", 20),
        ("M1", "MSC", "PLT", "D90", 50),
        ("M2", "MSC", "PLT", "BASELINE", 20),
        ("M2", "MSC", "PLT", "D40", 40),
        # M2 has no day-90 value
        ("C1", "CONTROL", "PLT", "BASELINE", 5),
        ("C1", "CONTROL", "PLT", "D40", 6),
        ("C1", "CONTROL", "PLT", "D90", 7),
        ("C2", "CONTROL", "PLT", "BASELINE", 9),
        ("C2", "CONTROL", "PLT", "D40", 12),
        ("C2", "CONTROL", "PLT", "D90", 15),
        ("C1", "CONTROL", "PLT", "", 99),  # not an analysis visit: ignored
    ]
)
SMALL_ADSL = adsl({"M1": "MSC", "M2": "MSC", "C1": "CONTROL", "C2": "CONTROL"})


def test_mean_and_se_hand_worked():
    facts = blood_counts_facts(SMALL, SMALL_ADSL, {"PLT": 0.192})
    plt = panel(facts, "PLT")
    msc = arm_of(plt, "MSC")
    # baseline 10, 20: mean 15, SD 7.071, SE 5; day 40 20, 40: mean 30, SE 10; day 90: 50 alone
    assert [(v.visit, v.n, v.mean) for v in msc.visits] == [
        ("BASELINE", 2, 15.0),
        ("D40", 2, 30.0),
        ("D90", 1, 50.0),
    ]
    assert msc.visits[0].se == pytest.approx(5.0)
    assert msc.visits[1].se == pytest.approx(10.0)
    assert math.isnan(msc.visits[2].se)
    ctl = arm_of(plt, "CONTROL")
    # day 90: 7 and 15 -> mean 11, SD 5.657, SE 4
    assert (ctl.visits[2].mean, ctl.visits[2].se) == (11.0, pytest.approx(4.0))
    assert ctl.subjects[0].values == (5.0, 6.0, 7.0)
    assert plt.pvalue == 0.192
    assert plt.missing == ("Platelets: day 90 value missing for 1 of 2 subjects in UC-MSC + IST",)


def test_missing_visit_is_a_notice_and_the_line_breaks():
    built = blood_counts_figure(SMALL, SMALL_ADSL, {"PLT": 0.192})
    msgs = [n.message for n in built.notices]
    assert (
        "Platelets: day 90 value missing for 1 of 2 subjects in UC-MSC + IST; "
        "mean ± SE of the others shown"
    ) in msgs
    # ANC, HGB and ARC have no records at all here: each panel says so
    for title in ("Neutrophils", "Haemoglobin", "Reticulocytes"):
        assert f"{title}: no values at any visit; panel left empty" in msgs
    m2 = arm_of(panel(built.facts, "PLT"), "MSC").subjects[1]
    assert m2.subject_id == "M2" and math.isnan(m2.values[2])
    check_png(built.figure.png)


def test_panel_titles_print_the_supplied_p_and_the_legend_the_arm_sizes():
    fig = draw_blood_counts(blood_counts_facts(SMALL, SMALL_ADSL, {"PLT": 0.192, "ANC": None}))
    texts = drawn_texts(fig)
    assert "arm × time p = 0.192" in texts
    assert sum(t.startswith("arm × time") for t in texts) == 1  # ANC None: nothing printed
    assert "UC-MSC + IST (n = 2): mean ± SE" in texts
    assert "IST alone (n = 2): mean ± SE" in texts
    assert "Platelets (×10⁹/L)" in texts
    assert texts.count("no values recorded") == 3
    assert ["Baseline", "Day 40", "Day 90"] == [
        t for t in texts if t in {"Baseline", "Day 40", "Day 90"}
    ][:3]


def test_arm_size_comes_from_adsl_even_without_lab_values():
    subjects = {"M1": "MSC", "M2": "MSC", "M3": "MSC", "C1": "CONTROL", "C2": "CONTROL"}
    facts = blood_counts_facts(SMALL, adsl(subjects))
    msc = arm_of(panel(facts, "PLT"), "MSC")
    assert msc.n_subjects == 3 and len(msc.subjects) == 2
    assert (
        "Platelets: baseline value missing for 1 of 3 subjects in UC-MSC + IST"
        in panel(facts, "PLT").missing
    )


# --- bundled study -----------------------------------------------------------------------


def _independent(ads, paramcd, visit, arm):
    rows = ads.adlb[
        (ads.adlb["PARAMCD"] == paramcd)
        & (ads.adlb["AVISIT"] == visit)
        & (ads.adlb["ANL01FL"] == "Y")
        & (ads.adlb["ARMCD"] == arm)
    ]["AVAL"].astype(float)
    return len(rows), rows.mean(), stats.sem(rows)


@pytest.mark.parametrize("paramcd", ["ANC", "HGB", "PLT", "ARC"])
def test_bundled_figure1_means_match_an_independent_computation(paramcd):
    _study, ads = bundled()
    facts = blood_counts_facts(ads.adlb, ads.adsl)
    for arm in panel(facts, paramcd).arms:
        assert arm.n_subjects == 9
        for v in arm.visits:
            n, mean, se = _independent(ads, paramcd, v.visit, arm.arm)
            assert (v.n, v.mean, v.se) == (n, pytest.approx(mean), pytest.approx(se))


@pytest.mark.parametrize("paramcd", ["CD4PCT", "CD8PCT", "TREGPCT"])
def test_bundled_figure2_means_match_an_independent_computation(paramcd):
    _study, ads = bundled()
    facts = tcells_facts(ads.adlb, ads.adsl)
    for arm in panel(facts, paramcd).arms:
        assert [v.visit for v in arm.visits] == ["BASELINE", "D40"]
        assert len(arm.subjects) == 9
        for v in arm.visits:
            n, mean, se = _independent(ads, paramcd, v.visit, arm.arm)
            assert (v.n, v.mean, v.se) == (n, pytest.approx(mean), pytest.approx(se))


def test_bundled_figures_render_with_p_values_and_no_notices():
    _study, ads = bundled()
    p = {"PLT": 0.192, "ANC": 0.532, "HGB": 0.45, "ARC": 0.313}
    one = blood_counts_figure(ads.adlb, ads.adsl, p)
    assert one.notices == () and one.figure.key == "figure1_blood_counts"
    check_png(one.figure.png)
    check_svg(one.figure.svg)
    texts = drawn_texts(draw_blood_counts(one.facts))
    for value in ("0.192", "0.532", "0.450", "0.313"):
        assert f"arm × time p = {value}" in texts
    two = tcells_figure(ads.adlb, ads.adsl, {"CD3CD4_pct": 0.19, "TREG_pct": 0.165})
    assert two.notices == () and two.figure.key == "figure2_tcells"
    texts = drawn_texts(draw_tcells(two.facts))
    assert "arm × time p = 0.190" in texts and "arm × time p = 0.165" in texts
    assert sum(t.startswith("arm × time") for t in texts) == 2  # CD8 p not supplied
    # each arm's group is labelled under its before/after pair, in its colour
    assert texts.count("UC-MSC + IST") == 3 and texts.count("IST alone") == 3


def test_bundled_missing_day40_tcells_are_reported():
    _study, ads = bundled()
    lb = ads.adlb
    drop = (
        (lb["PARAMCD"] == "TREGPCT")
        & (lb["AVISIT"] == "D40")
        & lb["SUBJID"].isin(["MSC01", "MSC02"])
    )
    built = tcells_figure(lb[~drop], ads.adsl)
    assert [n.message for n in built.notices] == [
        "CD4⁺CD25⁺CD127dim Treg: day 40 value missing for 2 of 9 subjects in UC-MSC + IST; "
        "mean ± SE of the others shown"
    ]
    msc = arm_of(panel(built.facts, "TREGPCT"), "MSC")
    assert msc.visits[1].n == 7
    assert text_problems(draw_tcells(built.facts)) == []


def test_single_arm_figures():
    _study, ads = bundled()
    msc = with_frames(
        ads, adlb=ads.adlb[ads.adlb["ARMCD"] == "MSC"], adsl=ads.adsl[ads.adsl["ARMCD"] == "MSC"]
    )
    one = blood_counts_figure(msc.adlb, msc.adsl)
    assert [a.arm for a in one.facts.panels[0].arms] == ["MSC"] and one.notices == ()
    two = tcells_figure(msc.adlb, msc.adsl)
    assert text_problems(draw_tcells(two.facts)) == []
    check_png(two.figure.png)
