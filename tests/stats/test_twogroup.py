"""Two-group tests against R output (stored once), hand-worked values and brute force.

R reference values: ``tests/reference/twogroup/r_twogroup.csv``, produced by
``tests/reference/twogroup/r_twogroup.R`` (R 4.2.2, stats::t.test,
wilcox.test, chisq.test, fisher.test). The data of each case are repeated
here and in the R script.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from saatrial.stats.twogroup import (
    chi_square,
    fisher_exact,
    fisher_exact_rxc,
    mann_whitney,
    student_t,
    welch_t,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "twogroup" / "r_twogroup.csv"

A = [15.2, 18.1, 12.4, 20.3, 16.8, 14.9, 17.5, 19.0, 13.3]
B = [11.1, 14.6, 9.8, 12.9, 15.3, 10.4, 13.7, 12.2, 16.0]
C7 = [12.0, 25.5, 8.1, 19.9, 30.2, 11.7, 22.4]


@pytest.fixture(scope="module")
def r_ref() -> dict[tuple[str, str], float]:
    df = pd.read_csv(REF)
    return {(c, q): float(v) for c, q, v in df.itertuples(index=False)}


# --------------------------------------------------------------------------- t-tests


def test_student_t_hand_worked() -> None:
    # means 2.5 and 4.5; both variances 5/3; pooled 5/3; SE = sqrt(5/3 * (1/4 + 1/4))
    res = student_t([1, 2, 3, 4], [3, 4, 5, 6])
    se = math.sqrt(5 / 3 * 0.5)
    assert res.statistic == pytest.approx(-2.0 / se, rel=1e-12)
    assert res.df == 6
    assert res.mean_difference == -2.0
    assert res.method == "Student's t-test (equal variances)"


@pytest.mark.parametrize(
    ("case", "func", "b"),
    [("student_ab", student_t, B), ("welch_ab", welch_t, B),
     ("student_ac", student_t, C7), ("welch_ac", welch_t, C7)],
)
def test_t_tests_match_r(r_ref: dict, case: str, func, b: list[float]) -> None:
    res = func(A, b)
    assert res.statistic == pytest.approx(r_ref[(case, "t")], rel=1e-10)
    assert res.df == pytest.approx(r_ref[(case, "df")], rel=1e-10)
    assert res.pvalue == pytest.approx(r_ref[(case, "p")], rel=1e-9)
    assert res.ci_low == pytest.approx(r_ref[(case, "ci_low")], rel=1e-9)
    assert res.ci_high == pytest.approx(r_ref[(case, "ci_high")], rel=1e-9)
    assert (res.n_a, res.n_b) == (9, len(b))


def test_welch_method_name_and_missing_values_dropped() -> None:
    res = welch_t([*A, None, float("nan")], B)
    assert res.method == "Welch's t-test (unequal variances)"
    assert res.n_a == 9
    assert res.statistic == pytest.approx(welch_t(A, B).statistic)


def test_t_tests_constant_groups_give_nan_not_error() -> None:
    for func in (student_t, welch_t):
        res = func([5, 5, 5], [7, 7, 7])
        assert math.isnan(res.statistic) and math.isnan(res.pvalue)
        assert res.mean_difference == -2.0
    # one constant group is fine: the other carries the variance
    assert not math.isnan(welch_t([5, 5, 5], [6, 7, 8]).pvalue)


def test_t_tests_empty_or_too_small_groups() -> None:
    with pytest.raises(ValueError, match="sample a is empty"):
        student_t([], [1, 2])
    with pytest.raises(ValueError, match="sample b is empty"):
        student_t([1, 2], [None, float("nan")])
    with pytest.raises(ValueError, match="n_a \\+ n_b must be >= 3"):
        student_t([1], [2])
    with pytest.raises(ValueError, match="sample b has 1 non-missing value"):
        welch_t([1, 2, 3], [2])
    with pytest.raises(ValueError, match=r"sample a\[1\]: not a number"):
        student_t([1, "x"], [2, 3])


# --------------------------------------------------------------------------- Mann-Whitney


def test_mann_whitney_small_exact_hand_worked() -> None:
    # every a below every b: U = 0; P(U = 0) = 1 / C(7, 3) = 1/35, two-sided 2/35
    res = mann_whitney([1.1, 2.3, 3.0], [4.2, 5.5, 6.1, 7.4])
    assert res.exact and not res.ties
    assert res.method == "Mann–Whitney U test (exact)"
    assert res.statistic == 0.0
    assert res.pvalue == pytest.approx(2 / 35, rel=1e-12)


def test_mann_whitney_exact_matches_r(r_ref: dict) -> None:
    res = mann_whitney(A, B, method="exact")
    assert res.statistic == r_ref[("wilcox_exact_ab", "W")]
    assert res.pvalue == pytest.approx(r_ref[("wilcox_exact_ab", "p")], rel=1e-9)


def test_mann_whitney_auto_9v9_is_normal_approximation_as_scipy(r_ref: dict) -> None:
    res = mann_whitney(A, B)
    assert not res.exact
    assert "normal approximation" in res.method
    assert res.pvalue == pytest.approx(r_ref[("wilcox_normal_ab", "p")], rel=1e-9)


def test_mann_whitney_ties_use_tie_corrected_normal(r_ref: dict) -> None:
    at = [1, 2, 2, 3, 5, 5, 5, 8, 9]
    bt = [2, 4, 5, 6, 6, 7, 9, 10, 12]
    res = mann_whitney(at, bt)
    assert res.ties and not res.exact
    assert res.statistic == r_ref[("wilcox_ties", "W")]
    assert res.pvalue == pytest.approx(r_ref[("wilcox_ties", "p")], rel=1e-9)
    with pytest.raises(ValueError, match="not valid with ties"):
        mann_whitney(at, bt, method="exact")
    # a small sample with ties also falls back to the normal approximation
    assert not mann_whitney([1, 2, 2], [3, 4, 5]).exact


def test_mann_whitney_errors() -> None:
    with pytest.raises(ValueError, match="sample b is empty"):
        mann_whitney([1, 2], [])
    with pytest.raises(ValueError, match="method must be"):
        mann_whitney([1, 2], [3, 4], method="permutation")


# --------------------------------------------------------------------------- chi-square


def test_chi_square_hand_worked_2x2() -> None:
    # rows (12, 5), (7, 14): N = 38, expected 8.5, 8.5, 10.5, 10.5, |O - E| = 3.5
    factor = 2 / 8.5 + 2 / 10.5
    res = chi_square([[12, 5], [7, 14]])
    assert res.statistic == pytest.approx(3.5**2 * factor, rel=1e-12)
    assert res.df == 1
    np.testing.assert_allclose(res.expected, [[8.5, 8.5], [10.5, 10.5]])
    assert not res.any_expected_below_5 and res.min_expected == 8.5
    yates = chi_square([[12, 5], [7, 14]], correction=True)
    assert yates.statistic == pytest.approx(3.0**2 * factor, rel=1e-12)
    assert yates.method == "Pearson's chi-squared test with Yates' continuity correction"


@pytest.mark.parametrize(
    ("case", "table", "correction"),
    [("chisq_2x2", [[12, 5], [7, 14]], False), ("yates_2x2", [[12, 5], [7, 14]], True),
     ("chisq_2x3", [[3, 10, 5], [8, 4, 9]], False), ("yates_small", [[1, 3], [4, 1]], True)],
)
def test_chi_square_matches_r(r_ref: dict, case: str, table, correction: bool) -> None:
    res = chi_square(table, correction=correction)
    assert res.statistic == pytest.approx(r_ref[(case, "X2")], rel=1e-10)
    assert res.pvalue == pytest.approx(r_ref[(case, "p")], rel=1e-9)


def test_chi_square_flags_small_expected_counts() -> None:
    # rows (1, 3), (4, 1): N = 9, expected 2.22, 1.78, 2.78, 2.22 - all below 5
    res = chi_square([[1, 3], [4, 1]])
    assert res.any_expected_below_5 and res.n_expected_below_5 == 4
    assert res.min_expected == pytest.approx(4 * 4 / 9)
    assert not res.expected.flags.writeable


def test_chi_square_errors() -> None:
    with pytest.raises(ValueError, match="column 2 has total 0"):
        chi_square([[1, 2, 0], [3, 4, 0]])
    with pytest.raises(ValueError, match="2x2 tables only"):
        chi_square([[1, 2, 3], [3, 4, 5]], correction=True)
    with pytest.raises(ValueError, match="non-negative whole numbers: -1"):
        chi_square([[1, -1], [3, 4]])
    with pytest.raises(ValueError, match=r"non-negative whole numbers: 1\.5"):
        chi_square([[1, 1.5], [3, 4]])
    with pytest.raises(ValueError, match="at least 2 rows and 2 columns"):
        chi_square([[1, 2]])
    with pytest.raises(ValueError, match="2-dimensional"):
        chi_square([1, 2])


# --------------------------------------------------------------------------- Fisher


def _brute_force_fisher(table: np.ndarray) -> float:
    """Independent check: list every table with the margins, sum the small ones."""
    table = np.asarray(table)
    rows, cols, n = table.sum(axis=1), table.sum(axis=0), table.sum()

    def log_prob(t: np.ndarray) -> float:
        return (sum(math.lgamma(v + 1) for v in rows) + sum(math.lgamma(v + 1) for v in cols)
                - math.lgamma(n + 1) - sum(math.lgamma(v + 1) for v in t.ravel()))

    def tables(row_totals: list[int], col_totals: list[int]):
        if len(row_totals) == 1:
            yield [list(col_totals)]
            return
        for first in itertools.product(*[range(min(c, row_totals[0]) + 1) for c in col_totals]):
            if sum(first) == row_totals[0]:
                rest = [c - x for c, x in zip(col_totals, first, strict=True)]
                for tail in tables(row_totals[1:], rest):
                    yield [list(first), *tail]

    observed = log_prob(table)
    return sum(
        math.exp(lp)
        for t in tables(list(rows), list(cols))
        if (lp := log_prob(np.asarray(t))) <= observed + math.log1p(1e-7)
    )


@pytest.mark.parametrize(
    ("case", "table"),
    [
        ("fisher_2x2", [[8, 2], [1, 5]]),
        ("fisher_2x3", [[3, 1, 0], [0, 2, 4]]),
        ("fisher_2x3_b", [[1, 2, 3], [4, 0, 1]]),
        ("fisher_3x3", [[2, 3, 0], [1, 0, 4], [5, 1, 2]]),
        ("fisher_2x3_zero_col", [[0, 1, 8], [0, 2, 7]]),
        ("fisher_3x4", [[5, 2, 1, 3], [1, 4, 6, 2], [3, 3, 0, 7]]),
        ("fisher_4x4", [[5, 6, 7, 8], [3, 9, 2, 6], [7, 1, 4, 5], [2, 2, 8, 3]]),
    ],
)
def test_fisher_matches_r(r_ref: dict, case: str, table) -> None:
    res = fisher_exact(table)
    assert res.pvalue == pytest.approx(r_ref[(case, "p")], rel=1e-9)


def test_fisher_2x2_is_scipy_with_odds_ratio() -> None:
    res = fisher_exact([[8, 2], [1, 5]])
    ref = stats.fisher_exact([[8, 2], [1, 5]])
    assert res.pvalue == ref.pvalue and res.odds_ratio == 20.0
    assert res.method == "Fisher's exact test (2x2, two-sided)"
    # probability of the observed table: C(10,8) C(6,1) / C(16,9) = 45 * 6 / 11440
    assert res.statistic == pytest.approx(45 * 6 / 11440, rel=1e-12)
    one_sided = fisher_exact([[8, 2], [1, 5]], alternative="greater")
    assert one_sided.pvalue == stats.fisher_exact([[8, 2], [1, 5]], alternative="greater").pvalue


def test_fisher_rxc_agrees_with_2x2_scipy_on_random_tables() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        t = rng.integers(0, 12, size=(2, 2))
        if (t.sum(axis=0) == 0).any() or (t.sum(axis=1) == 0).any():
            continue
        assert fisher_exact_rxc(t)[0] == pytest.approx(stats.fisher_exact(t).pvalue, rel=1e-9)


def test_fisher_rxc_agrees_with_brute_force_enumeration() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for shape in [(2, 3), (3, 3), (2, 4), (3, 4), (4, 3), (2, 5)]:
        for _ in range(4):
            t = rng.integers(0, 5, size=shape)
            if (t.sum(axis=0) == 0).any() or (t.sum(axis=1) == 0).any():
                continue
            p, prob = fisher_exact_rxc(t)
            assert p == pytest.approx(_brute_force_fisher(t), rel=1e-10, abs=1e-14)
            assert 0 < prob <= p <= 1
            checked += 1
    assert checked >= 15


def test_fisher_rxc_agrees_with_scipy_exact_permutation() -> None:
    # scipy has no exact R x C Fisher test by default (it samples); with
    # PermutationMethod(n_resamples=inf) it enumerates all N! pairings, which
    # is exact for tiny N.
    table = np.array([[2, 0, 1], [0, 2, 2]])
    ref = stats.fisher_exact(table, method=stats.PermutationMethod(n_resamples=np.inf))
    assert fisher_exact(table).pvalue == pytest.approx(ref.pvalue, rel=1e-9)


def test_fisher_zero_margins_and_degenerate_tables() -> None:
    res = fisher_exact([[0, 1, 8], [0, 2, 7]])
    assert res.pvalue == pytest.approx(1.0)
    assert "2x2 after dropping empty rows/columns" in res.method
    assert fisher_exact([[0, 0, 3], [0, 0, 4]]).pvalue == 1.0  # one non-empty column


def test_fisher_rxc_only_two_sided_and_guard_on_size() -> None:
    with pytest.raises(ValueError, match="2x2 tables only"):
        fisher_exact([[1, 2, 3], [3, 2, 1]], alternative="less")
    big = np.full((5, 6), 12)
    with pytest.raises(ValueError, match="max_steps"):
        fisher_exact(big, max_steps=200_000)
    with pytest.raises(ValueError, match="must be removed first"):
        fisher_exact_rxc([[1, 0], [2, 0]])


