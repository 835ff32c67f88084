"""The (stratified, k-sample) log-rank test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ._survival_input import Labels, as_event, as_labels, as_time_bounds
from ._survival_table import risk_sets


@dataclass(frozen=True, eq=False)
class LogrankResult:
    """Result of :func:`logrank_test`.

    Attributes
    ----------
    statistic : float
        Chi-square statistic ``(O-E)' V^- (O-E)``.
    df : int
        Degrees of freedom: number of groups with expected events > 0, minus 1.
    pvalue : float
        Upper tail of the chi-square distribution with ``df`` degrees of freedom.
    groups : tuple
        Group labels, sorted; the order of the arrays below.
    observed, expected : ndarray of float64, shape (k,)
        Observed and expected numbers of events per group (summed over strata).
    variance : ndarray of float64, shape (k, k)
        Hypergeometric covariance matrix of ``O - E`` (summed over strata).
    n : ndarray of int64, shape (k,)
        Rows per group.
    strata : tuple or None
        Stratum labels, or ``None`` for an unstratified test.
    """

    statistic: float
    df: int
    pvalue: float
    groups: tuple[Any, ...]
    observed: NDArray[np.float64]
    expected: NDArray[np.float64]
    variance: NDArray[np.float64]
    n: NDArray[np.int64]
    strata: tuple[Any, ...] | None


def logrank_test(time: Any, event: Any, group: Any, strata: Any = None) -> LogrankResult:
    """Log-rank (Mantel-Haenszel) test of equal survival across k groups.

    Parameters
    ----------
    time : array-like of float
        Observed times, finite and ``>= 0``.
    event : array-like of bool or 0/1
        1/True = event, 0/False = censored.
    group : array-like
        Group label of each row (at least two distinct labels).
    strata : array-like, optional
        Stratum label of each row. Observed-minus-expected and its covariance
        are computed within each stratum and summed (stratified log-rank).

    Returns
    -------
    LogrankResult

    Raises
    ------
    ValueError
        Fewer than two groups, no events, or fewer than two groups with
        anyone at risk at an event time.

    Notes
    -----
    At each distinct event time ``t_j`` with ``d_j`` events among ``n_j`` at
    risk (``n_gj`` in group g): ``E_g = sum_j n_gj d_j / n_j`` and
    ``V_gh = sum_j d_j (n_j - d_j) / (n_j - 1) * n_gj / n_j * (delta_gh - n_hj / n_j)``.
    The statistic uses the groups with ``E_g > 0`` and drops the first of them
    (the matrix has rank k - 1), exactly as R's ``survival::survdiff``.
    All variance arithmetic is float64: products of at-risk counts overflow
    int64 beyond about 2e6 rows, which silently corrupts scipy 1.17's
    ``stats.logrank`` (regression test ``test_survival_logrank.py``).

    References
    ----------
    .. [1] Mantel N. Evaluation of survival data and two new rank order
       statistics arising in its consideration. Cancer Chemother Rep
       1966;50:163-170.
    .. [2] Peto R, Peto J. Asymptotically efficient rank invariant test
       procedures. J R Stat Soc A 1972;135:185-207.
    .. [3] Klein JP, Moeschberger ML. Survival Analysis, 2nd ed. Springer;
       2003. Sections 7.3 and 7.5.

    Examples
    --------
    Remission times of the Freireich 6-MP trial (Gehan 1965):

    >>> mp = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    >>> mp_event = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    >>> pl = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
    >>> res = logrank_test(mp + pl, mp_event + [1] * 21, ["6-MP"] * 21 + ["placebo"] * 21)
    >>> round(res.statistic, 2), res.df, f"{res.pvalue:.1e}"
    (16.79, 1, '4.2e-05')
    """
    t, bounds = as_time_bounds(time)
    n = t.shape[0]
    e = as_event(event, n)
    groups = as_labels(group, n, name="group")
    k = len(groups.levels)
    if k < 2:
        raise ValueError(
            f"group: the log-rank test needs at least 2 groups, found {k}: {groups.levels!r}"
        )
    if not e.any():
        raise ValueError("event: no events; the log-rank test is undefined when all are censored")
    stratum_labels: Labels | None = None
    if strata is not None:
        stratum_labels = as_labels(strata, n, name="strata")

    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    if k > 128:
        raise ValueError(f"group: at most 128 groups are supported, found {k}")
    code = groups.codes.astype(np.uint8, copy=False)
    parts: list[
        tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.uint8], tuple[float, float] | None]
    ]
    if stratum_labels is None or len(stratum_labels.levels) == 1:
        parts = [(t, e, code, bounds)]
    else:
        order = np.argsort(stratum_labels.codes, kind="stable")
        cuts = np.cumsum(np.bincount(stratum_labels.codes))[:-1]
        parts = list(
            zip(
                np.split(t[order], cuts),
                np.split(e[order], cuts),
                np.split(code[order], cuts),
                [None] * (len(cuts) + 1),
                strict=True,
            )
        )
    for part_time, part_event, part_code, part_bounds in parts:
        o, x, v = _one_stratum(part_time, part_event, part_code, k, part_bounds)
        observed += o
        expected += x
        variance += v

    keep = np.flatnonzero(expected > 0)
    if keep.size < 2:
        raise ValueError(
            "group: fewer than two groups have anyone at risk at an event time; "
            "the log-rank test is undefined"
        )
    used = keep[1:]
    diff = (observed - expected)[used]
    sub = variance[np.ix_(used, used)]
    try:
        statistic = float(diff @ np.linalg.solve(sub, diff))
        df = int(used.size)
    except np.linalg.LinAlgError:
        statistic = float(diff @ np.linalg.pinv(sub) @ diff)
        df = int(np.linalg.matrix_rank(sub))
    pvalue = float(stats.chi2.sf(statistic, df))
    return LogrankResult(
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        groups=groups.levels,
        observed=_read_only(observed),
        expected=_read_only(expected),
        variance=_read_only(variance),
        n=_read_only(np.bincount(groups.codes, minlength=k).astype(np.int64)),
        strata=None if stratum_labels is None else stratum_labels.levels,
    )


def _read_only(arr: NDArray[Any]) -> NDArray[Any]:
    arr.setflags(write=False)
    return arr


def _dot(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    # einsum, not BLAS: a multi-threaded BLAS dot can stall for a scheduler tick when
    # the other cores are busy, which costs more than the whole product here.
    return float(np.einsum("i,i->", a, b))


def _one_stratum(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    code: NDArray[np.uint8],
    k: int,
    bounds: tuple[float, float] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """O, E and V (k x k) for one stratum, all in float64."""
    sets = risk_sets(time, event, code, k, bounds)
    n_all = sets.n_at_risk  # decreasing in time: n_all == 1 can only be the last entry
    d = sets.n_events
    expected = np.empty(k)
    variance = np.empty((k, k))
    buffer = np.divide(d, n_all)  # hazard d_j / n_j
    for g in range(1, k):
        expected[g] = _dot(sets.group_at_risk[g - 1], buffer)
    # weight_j = d_j (n_j - d_j) / ((n_j - 1) n_j^2), 0 where n_j = 1; in place
    weight = np.subtract(n_all, d, out=buffer)
    weight *= d
    denom = np.subtract(n_all, 1.0, out=d)  # d is not needed any more
    denom *= n_all
    denom *= n_all
    with np.errstate(divide="ignore", invalid="ignore"):
        weight /= denom
    if weight.shape[0] and n_all[-1] <= 1.0:
        weight[-1] = 0.0
    # Groups 1..k-1 directly; group 0 from the zero sums (sum_g E_g = sum_j d_j and
    # every row of V sums to 0), which saves a pass over group 0's numbers at risk.
    scaled = denom  # reuse
    for g in range(1, k):
        np.multiply(weight, sets.group_at_risk[g - 1], out=scaled)
        for h in range(1, k):
            variance[g, h] = -_dot(scaled, sets.group_at_risk[h - 1])
        variance[g, g] += _dot(scaled, n_all)
    expected[0] = float(sets.observed.sum()) - expected[1:].sum()
    variance[0, 1:] = -variance[1:, 1:].sum(axis=0)
    variance[1:, 0] = variance[0, 1:]
    variance[0, 0] = -variance[0, 1:].sum()
    return sets.observed, expected, variance
