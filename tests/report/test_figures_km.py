"""Figure 3 (Kaplan-Meier FFS and OS): what it prints is what the data say.

Expected numbers are worked by hand: numbers at risk by counting the ADTTE
times at or after each month, estimates by the product-limit formula with
Greenwood's SE; for the bundled study the 4-year estimates are the paper's
(published_results.yaml: FFS 38.1 ± 17.2 % vs 66.7 ± 15.7 %, OS 88.9 ± 10.5 %).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from saatrial.report.figures.survival import draw_km, km_facts, km_figure

from ._figure_checks import bundled, check_png, check_svg, drawn_texts, text_problems


def adtte(rows: list[tuple[str, str, float, int]], paramcd: str = "FFS") -> pd.DataFrame:
    """ADTTE rows (subject, arm, months, CNSR) with the columns the figure reads."""
    labels = {"MSC": "UC-MSC + IST", "CONTROL": "IST alone"}
    return pd.DataFrame(
        {
            "SUBJID": [r[0] for r in rows],
            "ARMCD": [r[1] for r in rows],
            "TRTP": [labels.get(r[1], r[1]) for r in rows],
            "PARAMCD": [paramcd] * len(rows),
            "AVAL": [float(r[2]) for r in rows],
            "CNSR": pd.array([r[3] for r in rows], dtype="Int64"),
        }
    )


def arm(facts, code):
    return next(a for a in facts.arms if a.arm == code)


# --- bundled study: hand-counted at-risk numbers, published 4-year estimates --------------


def test_bundled_ffs_numbers_at_risk_and_four_year_estimates():
    # MSC FFS months: 9.1 e, 53.0 c, 8.1 e, 50.0 c, 7.1 e, 5.2 e, 6.1 c, 10.1 e, 42.9 c
    # CONTROL:        53.7 c, 11.1 e, 51.2 c, 49.3 c, 47.8 c, 7.3 e, 12.1 e, 43.8 c, 42.0 c
    _study, ads = bundled()
    facts = km_facts(ads.adtte, "FFS", 0.153)
    msc, ctl = arm(facts, "MSC"), arm(facts, "CONTROL")
    assert facts.risk_times == (0.0, 12.0, 24.0, 36.0, 48.0)
    assert msc.at_risk == (9, 3, 3, 3, 2)
    assert ctl.at_risk == (9, 7, 6, 6, 3)
    assert (msc.n, msc.events, msc.censored) == (9, 5, 4)
    assert (ctl.n, ctl.events, ctl.censored) == (9, 3, 6)
    assert msc.landmark_estimate == pytest.approx(0.381, abs=0.001)
    assert msc.landmark_se == pytest.approx(0.172, abs=0.001)
    assert ctl.landmark_estimate == pytest.approx(0.667, abs=0.001)
    assert ctl.landmark_se == pytest.approx(0.157, abs=0.001)
    # the MSC patient lost at 6.1 months is a censoring tick at 8/9
    assert msc.censor_time[0] == pytest.approx(186 / 30.4375)
    assert msc.censor_survival[0] == pytest.approx(8 / 9)


def test_bundled_ffs_figure_prints_those_numbers():
    _study, ads = bundled()
    texts = drawn_texts(draw_km(km_facts(ads.adtte, "FFS", 0.153)))
    joined = "\n".join(texts)
    assert "Log-rank p = 0.153" in texts
    assert "4-year FFS: 38.1 ± 17.2%" in joined
    assert "4-year FFS: 66.7 ± 15.7%" in joined
    assert "UC-MSC + IST (n = 9; 5 events)" in joined
    assert "IST alone (n = 9; 3 events)" in joined
    # at-risk table: every count, and the arm names as row labels
    assert "Number at risk" in texts
    cells = [t for t in texts if t.isdigit()]
    for count in ("9", "3", "2", "7", "6"):
        assert count in cells
    assert texts.count("UC-MSC + IST") == 1 and texts.count("IST alone") == 1


def test_bundled_os_four_year_estimate_is_the_published_one():
    # OS months MSC: 54.1 c, 53.0 c, 51.8 c, 50.0 c, 48.2 c, 5.2 e, 6.1 c, 44.5 c, 42.9 c
    # CONTROL:       53.7 c, 52.5 c, 51.2 c, 49.3 c, 47.8 c, 7.3 e, 45.2 c, 43.8 c, 42.0 c
    _study, ads = bundled()
    facts = km_facts(ads.adtte, "OS")
    assert arm(facts, "MSC").at_risk == (9, 7, 7, 7, 5)
    assert arm(facts, "CONTROL").at_risk == (9, 8, 8, 8, 4)
    for code in ("MSC", "CONTROL"):
        assert arm(facts, code).landmark_text() == "88.9 ± 10.5%"
    texts = drawn_texts(draw_km(facts))
    assert not any(t.startswith("Log-rank") for t in texts)  # no p supplied: none printed


def test_bundled_km_figure_renders():
    _study, ads = bundled()
    built = km_figure(ads.adtte, "OS", 0.98)
    assert built.figure.key == "figure3_os" and built.notices == ()
    check_png(built.figure.png)
    check_svg(built.figure.svg)
    assert "Log-rank test p = 0.980" in built.figure.caption


# --- hand-made data ----------------------------------------------------------------------


def test_hand_worked_curve_at_risk_and_estimate():
    # arm MSC: 2 e, 5 c, 13 e, 30 c, 50 c
    # S: 1 -> 4/5 at 2 -> 4/5 x 2/3 = 0.5333 at 13 (3 at risk); flat to 50.
    # Greenwood: 1/(5*4) + 1/(3*2) = 0.216667; SE = 0.5333 * sqrt(0.216667) = 0.2483
    data = adtte(
        [
            ("A1", "MSC", 2, 0),
            ("A2", "MSC", 5, 1),
            ("A3", "MSC", 13, 0),
            ("A4", "MSC", 30, 1),
            ("A5", "MSC", 50, 1),
        ]
    )
    facts = km_facts(data, "FFS")
    a = facts.arms[0]
    assert a.at_risk == (5, 3, 2, 1, 1)
    assert a.time == (0.0, 2.0, 5.0, 13.0, 30.0, 50.0)
    assert a.survival == pytest.approx((1.0, 0.8, 0.8, 0.8 * 2 / 3, 0.8 * 2 / 3, 0.8 * 2 / 3))
    assert a.landmark_estimate == pytest.approx(0.8 * 2 / 3)
    assert a.landmark_se == pytest.approx(0.8 * 2 / 3 * math.sqrt(1 / 20 + 1 / 6))
    assert a.landmark_text() == "53.3 ± 24.8%"
    assert a.censor_time == (5.0, 30.0, 50.0)
    assert a.censor_survival == pytest.approx((0.8, 0.8 * 2 / 3, 0.8 * 2 / 3))


def test_at_risk_counts_a_time_equal_to_the_month_as_at_risk():
    # a subject censored at exactly 12 months is still at risk at 12 (observed time >= t)
    data = adtte([("A1", "MSC", 12, 1), ("A2", "MSC", 11.99, 0), ("A3", "MSC", 48, 1)])
    assert km_facts(data, "FFS").arms[0].at_risk == (3, 2, 1, 1, 1)


def test_short_follow_up_gives_no_four_year_estimate_and_says_so():
    data = adtte(
        [
            ("A1", "MSC", 2, 0),
            ("A2", "MSC", 60, 1),
            ("B1", "CONTROL", 1, 0),
            ("B2", "CONTROL", 1, 0),
            ("B3", "CONTROL", 3, 1),
        ]
    )
    built = km_figure(data, "FFS", 0.2)
    ctl = arm(built.facts, "CONTROL")
    assert ctl.landmark_estimate is None and ctl.landmark_text() is None
    assert ctl.at_risk == (3, 0, 0, 0, 0)
    assert [n.message for n in built.notices] == [
        "Failure-free survival, IST alone: follow-up ends at 3.0 months, before 48 months; "
        "no 4-year estimate"
    ]
    texts = drawn_texts(draw_km(built.facts))
    # MSC: S = 1/2 after 2 months, SE 0.5 x sqrt(1 / (2 x 1)) = 0.354
    assert "UC-MSC + IST (n = 2; 1 event)\n4-year FFS: 50.0 ± 35.4%" in texts
    assert "IST alone (n = 3; 2 events)" in texts  # no estimate line for the short arm


def test_everyone_has_the_event_before_four_years_gives_zero():
    data = adtte([("A1", "MSC", 2, 0), ("A2", "MSC", 5, 0), ("B1", "CONTROL", 50, 1)], "OS")
    facts = km_facts(data, "OS")
    a = arm(facts, "MSC")
    assert a.landmark_estimate == 0.0 and a.landmark_se is None
    assert a.landmark_text() == "0.0%"


def test_arm_without_events_is_a_flat_line_at_100():
    data = adtte(
        [
            ("A1", "MSC", 2, 0),
            ("A2", "MSC", 50, 1),
            ("B1", "CONTROL", 20, 1),
            ("B2", "CONTROL", 49, 1),
        ]
    )
    built = km_figure(data, "FFS", 0.3)
    ctl = arm(built.facts, "CONTROL")
    assert ctl.events == 0 and set(ctl.survival) == {1.0}
    assert ctl.landmark_text() == "100.0 ± 0.0%"
    assert built.notices == ()
    check_png(built.figure.png)


def test_single_arm_prints_no_comparison():
    data = adtte([("A1", "MSC", 2, 0), ("A2", "MSC", 50, 1)])
    built = km_figure(data, "FFS", 0.5)  # a p for one arm is meaningless: not printed
    assert [n.message for n in built.notices] == [
        "Failure-free survival: one arm only; no between-arm comparison shown"
    ]
    texts = drawn_texts(draw_km(built.facts))
    assert not any("p =" in t for t in texts)
    assert "Log-rank" not in built.figure.caption
    check_png(built.figure.png)


def test_no_records_draws_an_empty_axis_with_a_notice():
    built = km_figure(adtte([]), "OS")
    assert built.facts.arms == ()
    assert [n.message for n in built.notices] == [
        "Overall survival: no ADTTE records; no curve drawn"
    ]
    assert "no data" in drawn_texts(draw_km(built.facts))
    check_png(built.figure.png)


def test_three_arms_fit_without_overlap():
    rows = [
        (f"{a}{i}", a, 6.0 * i + (1 if a == "B" else 0), i % 2) for a in "ABC" for i in range(1, 9)
    ]
    fig = draw_km(km_facts(adtte(rows, "OS"), "OS", 0.04))
    assert text_problems(fig) == []
    assert "Log-rank p = 0.040" in drawn_texts(fig)
