"""Two-group comparisons with result objects that name their method.

Continuous outcomes: :func:`student_t`, :func:`welch_t`, :func:`mann_whitney`.
Contingency tables: :func:`chi_square` (Pearson, optionally Yates) and
:func:`fisher_exact` (2x2 through scipy, R x C by exact enumeration).

Where the work is delegated and where it is our own:

* t-tests, Mann–Whitney and chi-square call scipy (correct and fast); this
  module adds input checks, missing-value handling, and records which
  variant was used in ``method``.
* Fisher's exact test for tables larger than 2x2 is our own network
  algorithm (:func:`fisher_exact_rxc`): scipy 1.17's ``fisher_exact`` on an
  R x C table silently falls back to a Monte Carlo p-value
  (``MonteCarloMethod()``, 9999 resamples, unseeded), which is neither exact
  nor reproducible.

Missing values (NaN, None, pandas NA) in samples are dropped; the result's
``n_a``/``n_b`` give the numbers actually used.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import gammaln

__all__ = [
    "ChiSquareResult",
    "FisherResult",
    "MannWhitneyResult",
    "TTestResult",
    "chi_square",
    "fisher_exact",
    "fisher_exact_rxc",
    "mann_whitney",
    "student_t",
    "welch_t",
]

#: Relative tolerance when comparing table probabilities, as R's fisher.test
#: (``relErr <- 1 + 10^(-7)``): a table counts as "as or more extreme" when
#: its probability is <= observed * (1 + 1e-7).
FISHER_REL_TOL = 1e-7


# ----------------------------------------------------------------------------
# result objects
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TTestResult:
    """Result of a two-sample t-test.

    Attributes
    ----------
    method : str
        ``"Student's t-test (equal variances)"`` or ``"Welch's t-test
        (unequal variances)"``.
    statistic : float
        t for mean(a) - mean(b); NaN when undefined (see Notes of
        :func:`student_t`).
    df : float
        Degrees of freedom (Welch–Satterthwaite for Welch).
    pvalue : float
        Two-sided p-value.
    n_a, n_b : int
        Non-missing sample sizes used.
    mean_a, mean_b, mean_difference : float
        Group means and mean(a) - mean(b).
    ci_low, ci_high : float
        Confidence interval of the mean difference.
    confidence_level : float
        Level of the interval (default 0.95).
    """

    method: str
    statistic: float
    df: float
    pvalue: float
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence_level: float


@dataclass(frozen=True)
class MannWhitneyResult:
    """Result of a Mann–Whitney U (Wilcoxon rank-sum) test.

    Attributes
    ----------
    method : str
        Names the test and whether the p-value is exact or the normal
        approximation (with continuity and tie correction).
    statistic : float
        U of sample ``a`` (number of pairs with a > b, ties counting 1/2),
        the same as scipy's and R's ``W``.
    pvalue : float
        Two-sided p-value.
    n_a, n_b : int
        Non-missing sample sizes used.
    exact : bool
        True when the exact null distribution was used.
    ties : bool
        True when the pooled sample has ties.
    """

    method: str
    statistic: float
    pvalue: float
    n_a: int
    n_b: int
    exact: bool
    ties: bool


@dataclass(frozen=True)
class ChiSquareResult:
    """Result of Pearson's chi-squared test of independence.

    Attributes
    ----------
    method : str
        ``"Pearson's chi-squared test"``, with ``" with Yates' continuity
        correction"`` appended when corrected.
    statistic : float
        X-squared.
    df : int
        (rows - 1) x (columns - 1).
    pvalue : float
        Upper-tail chi-square p-value.
    expected : numpy.ndarray
        Expected counts under independence (read-only).
    correction : bool
        Whether Yates' correction was applied.
    min_expected : float
        Smallest expected count.
    n_expected_below_5 : int
        Number of cells with expected count < 5.
    any_expected_below_5 : bool
        True when any expected count is < 5 (the approximation is doubtful;
        report Fisher's exact test beside it).
    """

    method: str
    statistic: float
    df: int
    pvalue: float
    expected: np.ndarray
    correction: bool
    min_expected: float
    n_expected_below_5: int
    any_expected_below_5: bool


@dataclass(frozen=True)
class FisherResult:
    """Result of Fisher's exact test.

    Attributes
    ----------
    method : str
        Names the test, the table shape and how the p-value was computed.
    statistic : float
        Probability of the observed table under the null hypothesis
        (hypergeometric with both margins fixed).
    pvalue : float
        Sum of the probabilities of all tables with the same margins whose
        probability is <= that of the observed table (times 1 + 1e-7),
        for 2x2 ``alternative="two-sided"``; one-sided for 2x2 otherwise.
    odds_ratio : float or None
        Sample odds ratio ``(a*d)/(b*c)`` for a 2x2 table (scipy's
        convention; R prints the conditional MLE instead), None otherwise.
    shape : tuple of int
        Shape of the table as given.
    """

    method: str
    statistic: float
    pvalue: float
    odds_ratio: float | None
    shape: tuple[int, int]


# ----------------------------------------------------------------------------
# input helpers
# ----------------------------------------------------------------------------
def _sample(values: Iterable[Any], name: str, min_n: int) -> np.ndarray:
    """Float array of the non-missing values; clear errors otherwise."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"sample {name}: expected numbers, got a string: {values!r}")
    raw = list(values) if not isinstance(values, np.ndarray) else values.ravel().tolist()
    out = np.empty(len(raw), dtype=float)
    for i, v in enumerate(raw):
        if v is None or (not isinstance(v, (str, bytes)) and _is_missing(v)):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sample {name}[{i}]: not a number: {v!r}") from exc
    x = out[~np.isnan(out)]
    if np.isinf(x).any():
        raise ValueError(f"sample {name}: infinite value")
    if x.size < min_n:
        what = "is empty" if x.size == 0 else f"has {x.size} non-missing value(s)"
        raise ValueError(f"sample {name} {what}; at least {min_n} required")
    return x


def _is_missing(v: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _table(table: Any, what: str) -> np.ndarray:
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{what}: table must be 2-dimensional, got shape {arr.shape}")
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{what}: table must have at least 2 rows and 2 columns: {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{what}: table has a missing cell")
    if (arr < 0).any() or (arr != np.round(arr)).any():
        bad = arr[(arr < 0) | (arr != np.round(arr))][0]
        raise ValueError(f"{what}: counts must be non-negative whole numbers: {bad}")
    return arr.astype(np.int64)


# ----------------------------------------------------------------------------
# t-tests
# ----------------------------------------------------------------------------
def _t_result(
    a: np.ndarray, b: np.ndarray, equal_var: bool, method: str, confidence_level: float
) -> TTestResult:
    mean_a, mean_b = float(a.mean()), float(b.mean())
    nan = float("nan")
    constant = np.ptp(a) == 0 and np.ptp(b) == 0
    if constant:
        # Both groups constant: the standard error is 0 and t is undefined.
        if equal_var:
            df = float(a.size + b.size - 2)
        else:
            df = nan
        return TTestResult(
            method,
            nan,
            df,
            nan,
            a.size,
            b.size,
            mean_a,
            mean_b,
            mean_a - mean_b,
            nan,
            nan,
            confidence_level,
        )
    with warnings.catch_warnings():
        # scipy flags "catastrophic cancellation" for a constant group, whose
        # variance is exactly 0 here: the t-test is still well defined.
        warnings.filterwarnings(
            "ignore", message="Precision loss occurred", category=RuntimeWarning
        )
        res = stats.ttest_ind(a, b, equal_var=equal_var)
    ci = res.confidence_interval(confidence_level=confidence_level)
    return TTestResult(
        method=method,
        statistic=float(res.statistic),
        df=float(res.df),
        pvalue=float(res.pvalue),
        n_a=int(a.size),
        n_b=int(b.size),
        mean_a=mean_a,
        mean_b=mean_b,
        mean_difference=mean_a - mean_b,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        confidence_level=confidence_level,
    )


def student_t(a: Iterable[Any], b: Iterable[Any], *, confidence_level: float = 0.95) -> TTestResult:
    """Student's two-sample t-test with pooled (equal) variances.

    Parameters
    ----------
    a, b : array-like of numbers
        The two samples; missing values are dropped.
    confidence_level : float, default 0.95
        Level of the confidence interval of mean(a) - mean(b).

    Returns
    -------
    TTestResult
        ``method="Student's t-test (equal variances)"``, t, df = n_a + n_b - 2,
        two-sided p, means and CI.

    Raises
    ------
    ValueError
        If a sample is empty after dropping missing values, or n_a + n_b < 3.

    Notes
    -----
    When both samples are constant the pooled SD is 0 and t is undefined:
    ``statistic``, ``pvalue`` and the CI are NaN (no exception), so a table
    of many comparisons still renders; check ``math.isnan(res.pvalue)``.

    References
    ----------
    Student. The probable error of a mean. Biometrika. 1908;6:1-25.

    Examples
    --------
    >>> r = student_t([1, 2, 3, 4], [3, 4, 5, 6])
    >>> r.method, round(r.statistic, 4), r.df, round(r.pvalue, 4)
    ("Student's t-test (equal variances)", -2.1909, 6.0, 0.071)
    """
    xa, xb = _sample(a, "a", 1), _sample(b, "b", 1)
    if xa.size + xb.size < 3:
        raise ValueError(
            f"student_t: n_a + n_b must be >= 3 for a pooled variance: {xa.size} + {xb.size}"
        )
    return _t_result(xa, xb, True, "Student's t-test (equal variances)", confidence_level)


def welch_t(a: Iterable[Any], b: Iterable[Any], *, confidence_level: float = 0.95) -> TTestResult:
    """Welch's two-sample t-test (unequal variances, Satterthwaite df).

    Parameters
    ----------
    a, b : array-like of numbers
        The two samples, at least 2 non-missing values each.
    confidence_level : float, default 0.95
        Level of the confidence interval of mean(a) - mean(b).

    Returns
    -------
    TTestResult
        ``method="Welch's t-test (unequal variances)"``.

    Raises
    ------
    ValueError
        If a sample has fewer than 2 non-missing values.

    Notes
    -----
    Both samples constant: ``statistic``, ``df``, ``pvalue`` and the CI are
    NaN (see :func:`student_t`).

    References
    ----------
    Welch BL. The generalization of "Student's" problem when several different
    population variances are involved. Biometrika. 1947;34:28-35.

    Examples
    --------
    >>> r = welch_t([1, 2, 3, 4], [3, 5, 7, 9])
    >>> round(r.statistic, 4), round(r.df, 3), round(r.pvalue, 4)
    (-2.4249, 4.412, 0.0665)
    """
    xa, xb = _sample(a, "a", 2), _sample(b, "b", 2)
    return _t_result(xa, xb, False, "Welch's t-test (unequal variances)", confidence_level)


# ----------------------------------------------------------------------------
# Mann-Whitney
# ----------------------------------------------------------------------------
def mann_whitney(a: Iterable[Any], b: Iterable[Any], *, method: str = "auto") -> MannWhitneyResult:
    """Mann–Whitney U test (Wilcoxon rank-sum), two-sided.

    Parameters
    ----------
    a, b : array-like of numbers
        The two samples; missing values are dropped.
    method : {"auto", "exact", "asymptotic"}, default "auto"
        ``"auto"`` follows scipy: exact when the smaller sample has at most 8
        values and there are no ties, otherwise the normal approximation with
        continuity and tie correction. (R's ``wilcox.test`` is exact up to
        n < 50 without ties: pass ``method="exact"`` to match it.)
        ``"exact"`` with ties is refused (the exact distribution assumes no
        ties).

    Returns
    -------
    MannWhitneyResult
        ``method`` says "exact" or "normal approximation"; ``exact`` and
        ``ties`` flags; ``statistic`` is U of ``a``.

    Raises
    ------
    ValueError
        Empty sample, unknown method, or ``method="exact"`` with ties.

    References
    ----------
    Mann HB, Whitney DR. On a test of whether one of two random variables is
    stochastically larger than the other. Ann Math Stat. 1947;18:50-60.

    Examples
    --------
    >>> r = mann_whitney([1.1, 2.3, 3.0], [4.2, 5.5, 6.1, 7.4])
    >>> r.method, r.statistic, round(r.pvalue, 4)
    ('Mann–Whitney U test (exact)', 0.0, 0.0571)
    """
    if method not in {"auto", "exact", "asymptotic"}:
        raise ValueError(f"mann_whitney: method must be auto, exact or asymptotic: {method!r}")
    xa, xb = _sample(a, "a", 1), _sample(b, "b", 1)
    pooled = np.concatenate([xa, xb])
    ties = bool(np.unique(pooled).size < pooled.size)
    if method == "exact" and ties:
        raise ValueError("mann_whitney: method='exact' is not valid with ties in the data")
    if method == "auto":
        # The rule of scipy.stats.mannwhitneyu(method="auto"), made explicit
        # so that the result can say which was used.
        use_exact = min(xa.size, xb.size) <= 8 and not ties
    else:
        use_exact = method == "exact"
    scipy_method = "exact" if use_exact else "asymptotic"
    res = stats.mannwhitneyu(
        xa, xb, alternative="two-sided", method=scipy_method, use_continuity=True
    )
    label = (
        "Mann–Whitney U test (exact)"
        if use_exact
        else "Mann–Whitney U test (normal approximation, continuity and tie corrected)"
    )
    return MannWhitneyResult(
        label, float(res.statistic), float(res.pvalue), int(xa.size), int(xb.size), use_exact, ties
    )


# ----------------------------------------------------------------------------
# chi-square
# ----------------------------------------------------------------------------
def chi_square(table: Any, correction: bool = False) -> ChiSquareResult:
    """Pearson's chi-squared test of independence for an R x C table.

    Parameters
    ----------
    table : array-like of non-negative whole numbers, shape (R, C), R, C >= 2
        Observed counts (e.g. rows = groups, columns = outcome).
    correction : bool, default False
        Apply Yates' continuity correction (2x2 tables only), with R's and
        scipy's rule ``|O - E| - min(0.5, |O - E|)``.

    Returns
    -------
    ChiSquareResult
        Statistic, df, p, expected counts and a flag when any expected
        count is < 5.

    Raises
    ------
    ValueError
        Not 2-D, fewer than 2 rows/columns, negative or fractional counts,
        a row or column with zero total (expected counts of 0), or
        ``correction=True`` for a table that is not 2x2.

    References
    ----------
    Pearson K. On the criterion that a given system of deviations...
    Philos Mag. 1900;50:157-175. Yates F. Contingency tables involving small
    numbers and the chi-square test. J R Stat Soc Suppl. 1934;1:217-235.

    Examples
    --------
    >>> r = chi_square([[12, 5], [7, 14]])
    >>> round(r.statistic, 4), r.df, round(r.pvalue, 4), r.any_expected_below_5
    (5.2157, 1, 0.0224, False)
    >>> round(chi_square([[12, 5], [7, 14]], correction=True).statistic, 4)
    3.8319
    """
    arr = _table(table, "chi_square")
    for axis, name in ((1, "row"), (0, "column")):
        sums = arr.sum(axis=axis)
        if (sums == 0).any():
            idx = int(np.flatnonzero(sums == 0)[0])
            raise ValueError(
                f"chi_square: {name} {idx} has total 0; expected counts would be 0 "
                "(drop the empty category first)"
            )
    if correction and arr.shape != (2, 2):
        raise ValueError(f"chi_square: Yates' correction applies to 2x2 tables only: {arr.shape}")
    res = stats.chi2_contingency(arr, correction=correction)
    expected = np.asarray(res.expected_freq, dtype=float)
    expected.setflags(write=False)
    method = "Pearson's chi-squared test"
    if correction:
        method += " with Yates' continuity correction"
    n_below = int((expected < 5).sum())
    return ChiSquareResult(
        method=method,
        statistic=float(res.statistic),
        df=int(res.dof),
        pvalue=float(res.pvalue),
        expected=expected,
        correction=bool(correction),
        min_expected=float(expected.min()),
        n_expected_below_5=n_below,
        any_expected_below_5=n_below > 0,
    )


# ----------------------------------------------------------------------------
# Fisher's exact test
# ----------------------------------------------------------------------------
def fisher_exact(
    table: Any, alternative: str = "two-sided", *, max_steps: int = 5_000_000
) -> FisherResult:
    """Fisher's exact test for a 2x2 or R x C contingency table.

    Parameters
    ----------
    table : array-like of non-negative whole numbers, shape (R, C), R, C >= 2
        Observed counts.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        For 2x2 tables (odds ratio < 1 / > 1); R x C tables are two-sided
        only.
    max_steps : int, default 5_000_000
        Work guard of the R x C enumeration (see :func:`fisher_exact_rxc`).

    Returns
    -------
    FisherResult
        ``pvalue``, the observed table's probability (``statistic``), the
        sample odds ratio for 2x2, and ``method``.

    Raises
    ------
    ValueError
        Invalid table, a non-two-sided alternative for R x C, or a table too
        large to enumerate within ``max_steps``.

    Notes
    -----
    A 2x2 table (after dropping all-zero rows and columns) is computed by
    :func:`scipy.stats.fisher_exact`; any larger table by our exact network
    algorithm. Rows or columns with total 0 do not change the conditional
    distribution and are dropped first; a table left with a single row or
    column has p = 1.

    References
    ----------
    Fisher RA. On the interpretation of chi-square from contingency tables,
    and the calculation of P. J R Stat Soc. 1922;85:87-94.
    Mehta CR, Patel NR. A network algorithm for performing Fisher's exact
    test in r x c contingency tables. J Am Stat Assoc. 1983;78:427-434.

    Examples
    --------
    >>> r = fisher_exact([[8, 2], [1, 5]])
    >>> round(r.pvalue, 6), r.odds_ratio
    (0.034965, 20.0)
    >>> round(fisher_exact([[3, 1, 0], [0, 2, 4]]).pvalue, 6)
    0.033333
    """
    arr = _table(table, "fisher_exact")
    shape = (int(arr.shape[0]), int(arr.shape[1]))
    if alternative not in {"two-sided", "less", "greater"}:
        raise ValueError(f"fisher_exact: unknown alternative: {alternative!r}")
    reduced = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0]
    if shape == (2, 2):
        res = stats.fisher_exact(arr, alternative=alternative)
        odds = float(res.statistic)
        prob = _table_probability(reduced) if min(reduced.shape) >= 1 else 1.0
        return FisherResult(
            f"Fisher's exact test (2x2, {alternative})", prob, float(res.pvalue), odds, shape
        )
    if alternative != "two-sided":
        raise ValueError(
            f"fisher_exact: alternative={alternative!r} is defined for 2x2 tables only: {shape}"
        )
    if min(reduced.shape) < 2:
        return FisherResult(
            f"Fisher's exact test ({shape[0]}x{shape[1]}, exact enumeration)", 1.0, 1.0, None, shape
        )
    if reduced.shape == (2, 2):
        res = stats.fisher_exact(reduced)
        method = (
            f"Fisher's exact test ({shape[0]}x{shape[1]}; 2x2 after dropping empty rows/columns)"
        )
        return FisherResult(method, _table_probability(reduced), float(res.pvalue), None, shape)
    pvalue, prob = fisher_exact_rxc(reduced, max_steps=max_steps)
    return FisherResult(
        f"Fisher's exact test ({shape[0]}x{shape[1]}, exact enumeration)", prob, pvalue, None, shape
    )


def _table_probability(arr: np.ndarray) -> float:
    r, c, n = arr.sum(axis=1), arr.sum(axis=0), arr.sum()
    logp = gammaln(r + 1).sum() + gammaln(c + 1).sum() - gammaln(n + 1) - gammaln(arr + 1).sum()
    return float(math.exp(logp))


def _compositions(total: int, caps: np.ndarray) -> np.ndarray:
    """All integer vectors x with 0 <= x_i <= caps_i and sum(x) == total.

    Returns an array of shape (n_compositions, len(caps)), built one
    coordinate at a time without a Python loop over compositions.
    """
    k = caps.size
    rest = np.concatenate([np.cumsum(caps[::-1])[::-1][1:], [0]])  # capacity after i
    parts = np.zeros((1, 0), dtype=np.int64)
    left = np.array([total], dtype=np.int64)
    for i in range(k):
        lo = np.maximum(0, left - rest[i])
        hi = np.minimum(caps[i], left)
        width = np.maximum(hi - lo + 1, 0)
        rep = np.repeat(np.arange(left.size), width)
        starts = np.cumsum(width) - width
        value = lo[rep] + (np.arange(rep.size) - starts[rep])
        parts = np.concatenate([parts[rep], value[:, None]], axis=1)
        left = left[rep] - value
    return parts


def _last_two_columns(
    j: int,
    p_node: np.ndarray,
    p_val: np.ndarray,
    p_cnt: np.ndarray,
    offsets: np.ndarray,
    child: np.ndarray,
    weight: np.ndarray,
    mult: np.ndarray,
    completion: np.ndarray,
    threshold: float,
    log_const: float,
) -> float:
    """P-value mass of all paths entering the second-to-last column."""
    total = 0.0
    if p_node.size == 0:
        return total
    bounds = np.flatnonzero(np.r_[True, p_node[1:] != p_node[:-1], True])
    for g in range(bounds.size - 1):
        k = int(p_node[bounds[g]])
        lo_e, hi_e = int(offsets[k]), int(offsets[k + 1])
        a = weight[lo_e:hi_e] + completion[child[lo_e:hi_e]]
        order = np.argsort(a)
        a = a[order]
        shift = float(a[-1])
        cum = np.cumsum(mult[lo_e:hi_e][order] * np.exp(a - shift))
        v = p_val[bounds[g] : bounds[g + 1]]
        c = p_cnt[bounds[g] : bounds[g + 1]]
        idx = np.searchsorted(a, threshold - v, side="right")
        ok = idx > 0
        total += float((c[ok] * np.exp(v[ok] + shift + log_const) * cum[idx[ok] - 1]).sum())
    return total


def fisher_exact_rxc(table: Any, *, max_steps: int = 5_000_000) -> tuple[float, float]:
    """Exact two-sided Fisher p-value of an R x C table (network algorithm).

    The table's probability under independence with fixed margins is
    ``prod(r_i!) prod(c_j!) / (N! prod(x_ij!))``. Filling the table column by
    column, the tables form paths through a network whose nodes are the
    remaining row totals (sorted, since the rest of the problem depends only
    on their multiset). For every node the largest and smallest completion
    weights are found by backward dynamic programming, and the total weight
    of all completions is closed-form, ``N'! / (prod r'_i! prod c'_j!)``.
    A forward pass carries each distinct partial-path weight once per node:
    when even the largest completion keeps a path at or below the observed
    probability, all its completions are added in one step; when even the
    smallest completion exceeds it, the path is dropped; otherwise it moves
    on to the next column. The result is exact (no sampling); each stage is
    processed as flat numpy arrays.

    Parameters
    ----------
    table : array-like of non-negative whole numbers, shape (R, C)
        Counts; rows and columns with total 0 must already be removed.
    max_steps : int, default 5_000_000
        Guard on the work (column fillings enumerated plus path extensions
        evaluated; about 1 s per million at worst); exceeding it raises
        ``ValueError`` instead of running for hours.

    Returns
    -------
    pvalue : float
        Sum of probabilities of tables with probability <= observed x
        (1 + 1e-7), capped at 1.
    table_probability : float
        Probability of the observed table.

    Raises
    ------
    ValueError
        Invalid table, an empty row/column, or too much work.

    References
    ----------
    Mehta CR, Patel NR. A network algorithm for performing Fisher's exact
    test in r x c contingency tables. J Am Stat Assoc. 1983;78:427-434.

    Examples
    --------
    >>> p, prob = fisher_exact_rxc([[1, 2, 3], [4, 0, 1]])
    >>> round(p, 6)
    0.112554
    """
    arr = _table(table, "fisher_exact_rxc")
    if (arr.sum(axis=1) == 0).any() or (arr.sum(axis=0) == 0).any():
        raise ValueError("fisher_exact_rxc: rows and columns with total 0 must be removed first")
    if arr.shape[0] > arr.shape[1]:
        arr = arr.T  # fewer rows -> smaller states and fewer column fillings
    rows = np.sort(arr.sum(axis=1))[::-1]
    cols = np.sort(arr.sum(axis=0))[::-1]
    n_total = int(arr.sum())
    n_cols = cols.size
    lgam = gammaln(np.arange(n_total + 1, dtype=float) + 1.0)  # lgam[k] = log k!

    log_const = float(lgam[rows].sum() + lgam[cols].sum() - lgam[n_total])
    log_obs = float(-lgam[arr].sum())
    threshold = log_obs + math.log1p(FISHER_REL_TOL)
    steps = 0

    def guard(add: int) -> None:
        nonlocal steps
        steps += add
        if steps > max_steps:
            raise ValueError(
                f"fisher_exact_rxc: table {arr.shape} with N={n_total} needs more than "
                f"max_steps={max_steps} steps of exact enumeration; use a Monte Carlo test "
                "(scipy.stats.fisher_exact with MonteCarloMethod) or raise max_steps"
            )

    # Network, stage by stage. Nodes of stage j are rows of nodes[j] (remaining
    # row totals before column j, sorted descending). Edges of stage j are flat
    # arrays in node order (CSR offsets), with child index, log weight
    # -sum(log x_i!) and multiplicity (fillings that give the same child and
    # the same weight are merged).
    nodes: list[np.ndarray] = [rows[None, :]]
    offsets: list[np.ndarray] = []
    e_child: list[np.ndarray] = []
    e_weight: list[np.ndarray] = []
    e_mult: list[np.ndarray] = []
    for j in range(n_cols):
        child_rows, weights, owners = [], [], []
        for k, node in enumerate(nodes[j]):
            x = _compositions(int(cols[j]), node)
            guard(x.shape[0])
            child_rows.append(-np.sort(-(node[None, :] - x), axis=1))
            weights.append(-lgam[x].sum(axis=1))
            owners.append(np.full(x.shape[0], k))
        child_all = np.concatenate(child_rows)
        w_all = np.concatenate(weights)
        owner_all = np.concatenate(owners)
        # Children get an integer code (mixed radix) so that grouping is a 1-D
        # sort; fall back to row-wise unique when the code would overflow.
        if (n_total + 1) ** child_all.shape[1] < 2**62:
            radix = (n_total + 1) ** np.arange(child_all.shape[1], dtype=np.int64)
            code = child_all @ radix
            _, first_child, child_idx = np.unique(code, return_index=True, return_inverse=True)
            uniq_children = child_all[first_child]
        else:  # pragma: no cover - tables far beyond max_steps
            uniq_children, child_idx = np.unique(child_all, axis=0, return_inverse=True)
        child_idx = child_idx.ravel()
        # merge (owner, child, weight) duplicates into one edge with a multiplicity
        wkey = np.round(w_all * 1e10).astype(np.int64)
        order = np.lexsort((wkey, child_idx, owner_all))
        o_s, c_s, w_s = owner_all[order], child_idx[order], wkey[order]
        new_edge = np.ones(order.size, dtype=bool)
        new_edge[1:] = (o_s[1:] != o_s[:-1]) | (c_s[1:] != c_s[:-1]) | (w_s[1:] != w_s[:-1])
        starts = np.flatnonzero(new_edge)
        mult = np.diff(np.r_[starts, order.size])
        nodes.append(uniq_children)
        e_child.append(c_s[starts])
        e_weight.append(w_all[order[starts]])
        e_mult.append(mult.astype(float))
        offsets.append(np.searchsorted(o_s[starts], np.arange(len(nodes[j]) + 1)))

    # Backward pass: largest / smallest completion weight of every node.
    max_c: list[np.ndarray] = [np.empty(0)] * (n_cols + 1)
    min_c: list[np.ndarray] = [np.empty(0)] * (n_cols + 1)
    max_c[n_cols] = np.zeros(len(nodes[n_cols]))
    min_c[n_cols] = np.zeros(len(nodes[n_cols]))
    for j in range(n_cols - 1, -1, -1):
        hi = e_weight[j] + max_c[j + 1][e_child[j]]
        lo = e_weight[j] + min_c[j + 1][e_child[j]]
        starts = offsets[j][:-1]
        max_c[j] = np.maximum.reduceat(hi, starts)
        min_c[j] = np.minimum.reduceat(lo, starts)
    # Closed-form log total weight of all completions of each node.
    log_total = [
        lgam[nodes[j].sum(axis=1)] - lgam[nodes[j]].sum(axis=1) - lgam[cols[j:]].sum()
        for j in range(n_cols + 1)
    ]

    # Forward pass over flat arrays of (node, past log weight, count).
    pvalue = 0.0
    p_node = np.zeros(1, dtype=np.int64)
    p_val = np.zeros(1)
    p_cnt = np.ones(1)
    for j in range(n_cols):
        if j == n_cols - 2:
            # Every child now has exactly one completion (the last column is
            # forced), so the edge totals a_e = w_e + completion are exact:
            # per node, sort them once and answer all past weights with a
            # binary search instead of expanding past x edges.
            guard(p_node.size)
            pvalue += _last_two_columns(
                j,
                p_node,
                p_val,
                p_cnt,
                offsets[j],
                e_child[j],
                e_weight[j],
                e_mult[j],
                max_c[j + 1],
                threshold,
                log_const,
            )
            p_node = p_node[:0]
            break
        if p_node.size == 0:
            break  # every path already classified
        degree = np.diff(offsets[j])[p_node]
        guard(int(degree.sum()))
        # Expand past weights x outgoing edges in chunks of about 1e6 to bound memory.
        cum_degree = np.cumsum(degree)
        cuts = (
            np.searchsorted(cum_degree, np.arange(1, 1 + cum_degree[-1] // 1_000_000) * 1_000_000)
            if cum_degree.size
            else np.zeros(0, dtype=np.int64)
        )
        bounds = np.unique(np.r_[0, cuts, p_node.size])
        kept_child, kept_v, kept_cnt = [], [], []
        for lo_i, hi_i in itertools.pairwise(bounds):
            node_c, deg_c = p_node[lo_i:hi_i], degree[lo_i:hi_i]
            src = np.repeat(np.arange(lo_i, hi_i), deg_c)
            within = np.arange(src.size) - np.repeat(np.cumsum(deg_c) - deg_c, deg_c)
            edge = np.repeat(offsets[j][node_c], deg_c) + within
            child = e_child[j][edge]
            v = p_val[src] + e_weight[j][edge]
            cnt = p_cnt[src] * e_mult[j][edge]
            take_all = v + max_c[j + 1][child] <= threshold
            pvalue += float(
                (
                    cnt[take_all]
                    * np.exp(v[take_all] + log_total[j + 1][child[take_all]] + log_const)
                ).sum()
            )
            keep = ~take_all & (v + min_c[j + 1][child] <= threshold)
            kept_child.append(child[keep])
            kept_v.append(v[keep])
            kept_cnt.append(cnt[keep])
        child = np.concatenate(kept_child)
        v = np.concatenate(kept_v)
        cnt = np.concatenate(kept_cnt)
        # merge equal past weights (to 1e-10 in log) at the same node
        vkey = np.round(v * 1e10).astype(np.int64)
        order = np.lexsort((vkey, child))
        child, vkey, v, cnt = child[order], vkey[order], v[order], cnt[order]
        new_group = np.ones(child.size, dtype=bool)
        new_group[1:] = (child[1:] != child[:-1]) | (vkey[1:] != vkey[:-1])
        starts = np.flatnonzero(new_group)
        p_node = child[starts]
        p_val = v[starts]
        p_cnt = np.add.reduceat(cnt, starts) if starts.size else cnt[:0]
    if p_node.size:  # pragma: no cover - every path is classified at the last column
        warnings.warn("fisher_exact_rxc: unclassified paths left", RuntimeWarning, stacklevel=2)
    return min(1.0, pvalue), float(math.exp(log_obs + log_const))
