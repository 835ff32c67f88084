"""Descriptive statistics and journal formatting, against hand-worked values.

Every expected value below was worked out by hand from the definitions
(mean, SD with n - 1, median, Hyndman-Fan quantile types, half-up rounding),
not produced by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from saatrial.stats.describe import (
    count_table,
    format_number,
    mean_sd,
    median_iqr,
    median_range,
    n_percent,
    summarize,
)

# --------------------------------------------------------------------------- n (%)


@pytest.mark.parametrize(
    ("count", "total", "digits", "expected"),
    [
        (4, 9, 0, "4 (44%)"),  # 44.44 -> 44 (the trial paper: "4 (44%)")
        (7, 9, 0, "7 (78%)"),  # 77.78 -> 78 ("7 (78%)" vSAA in the paper)
        (1, 9, 0, "1 (11%)"),  # 11.11 -> 11 (PR in the MSC arm)
        (2, 9, 0, "2 (22%)"),  # 22.22 -> 22 (PR in the control arm)
        (1, 8, 0, "1 (13%)"),  # exactly 12.5: half up, not half to even
        (3, 8, 0, "3 (38%)"),  # exactly 37.5 -> 38
        (1, 200, 0, "1 (1%)"),  # exactly 0.5 -> 1
        (7, 9, 1, "7 (77.8%)"),
        (1, 3, 1, "1 (33.3%)"),
        (2, 3, 0, "2 (67%)"),
        (1, 16, 2, "1 (6.25%)"),
        (0, 9, 0, "0 (0%)"),
        (9, 9, 0, "9 (100%)"),
    ],
)
def test_n_percent_hand_worked(count: int, total: int, digits: int, expected: str) -> None:
    assert n_percent(count, total, digits) == expected


@pytest.mark.parametrize(
    ("count", "total", "match"),
    [
        (1, 0, "total must be > 0"),
        (10, 9, r"count must be in \[0, total=9\]"),
        (-1, 9, "count must be in"),
        (1.5, 9, "count must be a whole number"),
        (True, 9, "count must be a whole number"),
    ],
)
def test_n_percent_rejects_bad_input(count: float, total: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        n_percent(count, total)  # type: ignore[arg-type]


def test_n_percent_accepts_float_whole_numbers() -> None:
    assert n_percent(4.0, 9.0) == "4 (44%)"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- summarize


def test_summarize_hand_worked_odd_n_with_missing() -> None:
    s = summarize([1, 4, 10, None, np.nan, pd.NA])
    assert (s.n, s.n_missing) == (3, 3)
    assert s.mean == pytest.approx(5.0)
    # deviations -4, -1, 5: SS = 16 + 1 + 25 = 42, var = 42 / 2 = 21
    assert s.sd == pytest.approx(math.sqrt(21.0))
    assert (s.median, s.min, s.max) == (4.0, 1.0, 10.0)
    # type 7: positions 1 + 2 * 0.25 = 1.5 -> 2.5; 1 + 2 * 0.75 = 2.5 -> 7
    assert (s.q1, s.q3) == pytest.approx((2.5, 7.0))


def test_summarize_even_n_median_is_average_of_middle_values() -> None:
    assert summarize([4, 1, 3, 2]).median == 2.5


def test_summarize_quartile_methods_hand_worked() -> None:
    x = [1, 2, 3, 4, 5, 6, 7, 8]
    # type 7 (numpy/R default): h = (n - 1) p + 1 = 2.75 and 6.25
    s7 = summarize(x)
    assert (s7.q1, s7.q3) == pytest.approx((2.75, 6.25))
    # type 6 (SPSS): h = (n + 1) p = 2.25 and 6.75
    s6 = summarize(x, quantile_method="weibull")
    assert (s6.q1, s6.q3) == pytest.approx((2.25, 6.75))
    assert s6.median == s7.median == 4.5


def test_summarize_single_value_has_nan_sd_and_prints_na() -> None:
    s = summarize([5])
    assert s.n == 1 and math.isnan(s.sd)
    assert mean_sd(s) == "5.0 ± NA"


def test_summarize_empty_and_all_missing() -> None:
    for values in ([], [None, np.nan]):
        s = summarize(values)
        assert s.n == 0 and math.isnan(s.mean) and math.isnan(s.median)
        with pytest.raises(ValueError, match="no non-missing values"):
            median_range(s)
        with pytest.raises(ValueError, match="no non-missing values"):
            mean_sd(s)
    assert summarize([None, np.nan]).n_missing == 2


def test_summarize_accepts_nullable_series() -> None:
    s = summarize(pd.Series([1, None, 3], dtype="Int64"))
    assert (s.n, s.n_missing, s.mean) == (2, 1, 2.0)


def test_summarize_rejects_text_and_infinity() -> None:
    with pytest.raises(ValueError, match="non-numeric"):
        summarize([1, "abc"])
    with pytest.raises(ValueError, match="infinite"):
        summarize([1, np.inf])
    with pytest.raises(TypeError, match="string"):
        summarize("123")


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (2.675, 2, "2.68"),  # binary 2.67499999... still rounds up as printed
        (0.125, 2, "0.13"),
        (12.5, 0, "13"),
        (13.5, 0, "14"),
        (-2.5, 0, "-3"),  # half away from zero
        (-0.04, 1, "0.0"),  # no negative zero
        (12.345, 1, "12.3"),
        (3.0, 2, "3.00"),
        (0.0, None, "0"),
        (0.07, None, "0.07"),
        (0.36, None, "0.36"),
        (15000000.0, None, "15000000"),
        (0.1 + 0.2, None, "0.3"),  # float noise hidden when printing as recorded
        (1e-7, None, "0.0000001"),  # never exponent notation
        (float("nan"), 1, "NA"),
        (None, None, "NA"),
    ],
)
def test_format_number(x: float, digits: int | None, expected: str) -> None:
    assert format_number(x, digits) == expected


def test_format_number_rejects_infinity_and_negative_digits() -> None:
    with pytest.raises(ValueError, match="infinite"):
        format_number(float("inf"))
    with pytest.raises(ValueError, match="digits must be >= 0"):
        format_number(1.0, -1)


def test_median_range_as_in_the_trial_paper() -> None:
    # Paper, MSC arm at baseline: age median 4 (range 1-10) years; ANC 0.07 (0-0.36).
    assert median_range(summarize([1, 2, 4, 4, 4, 6, 7, 9, 10])) == "4 (1–10)"
    anc = summarize([0.0, 0.02, 0.05, 0.07, 0.07, 0.1, 0.2, 0.3, 0.36])
    assert median_range(anc) == "0.07 (0–0.36)"
    assert median_range(anc, digits=2) == "0.07 (0.00–0.36)"


def test_range_with_negative_bound_uses_to() -> None:
    assert median_range(summarize([-3, 0, 2])) == "0 (-3 to 2)"
    assert median_range(summarize([-5, -4, -1])) == "-4 (-5 to -1)"


def test_mean_sd_hand_worked() -> None:
    # mean 37/3 = 12.333; deviations -2.333, -0.333, 2.667: SS = 12.667, var 6.333, sd 2.517
    assert mean_sd(summarize([10, 12, 15])) == "12.3 ± 2.5"
    assert mean_sd(summarize([10, 12, 15]), digits=2) == "12.33 ± 2.52"
    assert mean_sd(summarize([10, 12, 15]), digits=0) == "12 ± 3"


def test_median_iqr_hand_worked() -> None:
    assert median_iqr(summarize([1, 2, 3, 4, 5])) == "3 (2–4)"
    # type 7 on 1..8: 2.75 and 6.25
    assert median_iqr(summarize(range(1, 9)), digits=1) == "4.5 (2.8–6.3)"


# --------------------------------------------------------------------------- count_table


def test_count_table_response_by_arm_as_in_the_paper() -> None:
    # Paper: no CR; PR 1 (11%) in the MSC arm and 2 (22%) in the control arm.
    response = ["PR"] + ["NR"] * 8 + ["PR"] * 2 + ["NR"] * 7
    arm = ["MSC"] * 9 + ["CONTROL"] * 9
    t = count_table(response, arm, category_order=["CR", "PR", "NR"],
                    group_order=["MSC", "CONTROL"], total=True)
    assert t.formatted.loc["CR"].tolist() == ["0 (0%)", "0 (0%)", "0 (0%)"]
    assert t.formatted.loc["PR"].tolist() == ["1 (11%)", "2 (22%)", "3 (17%)"]
    assert t.formatted.loc["NR"].tolist() == ["8 (89%)", "7 (78%)", "15 (83%)"]
    assert t.totals.tolist() == [9, 9, 18]
    assert t.counts.loc["PR", "CONTROL"] == 2


def test_count_table_missing_category_row_and_denominator() -> None:
    t = count_table(["M", None, "F", "F"], ["A", "A", "B", "B"])
    assert list(t.counts.index) == ["F", "M", "Missing"]
    assert t.formatted.loc["Missing", "A"] == "1 (50%)"  # denominator includes missing
    assert t.formatted.loc["F", "B"] == "2 (100%)"


def test_count_table_default_orders_and_categorical() -> None:
    cats = pd.Categorical(["b", "a", "b"], categories=["b", "a"])
    t = count_table(cats, ["g2", "g1", "g1"])
    assert list(t.counts.index) == ["b", "a"]
    assert list(t.counts.columns) == ["g1", "g2"]


def test_count_table_errors() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        count_table(["a"], ["g", "g"])
    with pytest.raises(ValueError, match="missing group at position 1"):
        count_table(["a", "b"], ["g", None])
    with pytest.raises(ValueError, match=r"category values not in category_order: \['X'\]"):
        count_table(["a", "X"], ["g", "g"], category_order=["a"])
    with pytest.raises(ValueError, match="group 'h' has no rows"):
        count_table(["a"], ["g"], group_order=["g", "h"])
