"""Permutation (exact or Monte Carlo) two-sample log-rank test for small samples."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ._survival_input import as_event, as_labels, as_time
from ._survival_table import count_by_time

#: Relabelings are processed in blocks of about this many matrix cells.
_BLOCK_CELLS = 1 << 22
#: |T*| >= |t| is decided with this relative tolerance, so float noise on tied
#: values of the statistic does not flip the comparison.
_REL_TOL = 1e-9

Standardize = Literal["per-relabeling", "permutation"]


@dataclass(frozen=True)
class ExactLogrankResult:
    """Result of :func:`exact_logrank_test`.

    Attributes
    ----------
    statistic : float
        Observed standardized log-rank statistic, signed: positive when
        ``groups[0]`` has more events than expected.
    pvalue : float
        Two-sided permutation p-value ``P(|T| >= |t|)``.
    method : str
        ``"exact"`` (all relabelings enumerated) or ``"monte-carlo"``.
    n_permutations : int
        Relabelings enumerated (exact) or drawn (Monte Carlo).
    pvalue_se : float
        Monte Carlo standard error of ``pvalue``; 0 for the exact method.
    groups : tuple
        The two group labels, sorted.
    standardize : str
        How the statistic is standardized (see :func:`exact_logrank_test`).
    """

    statistic: float
    pvalue: float
    method: str
    n_permutations: int
    pvalue_se: float
    groups: tuple[Any, ...]
    standardize: str


@dataclass(frozen=True, eq=False)
class _Design:
    """What stays fixed under relabeling: scores, risk-set positions and weights."""

    score: NDArray[np.float64]  # a_i = event_i - NelsonAalen(T_i), rows in time order
    first: NDArray[np.intp]  # sorted-row index where each event time's risk set starts
    n_at_risk: NDArray[np.float64]  # n_j at each event time
    weight: NDArray[np.float64]  # d_j (n_j - d_j) / ((n_j - 1) n_j^2), 0 if n_j = 1
    order: NDArray[np.intp]  # rows sorted by time


def exact_logrank_test(
    time: Any,
    event: Any,
    group: Any,
    *,
    max_enumeration: int = 1_000_000,
    n_resamples: int = 100_000,
    seed: int | None = 0,
    standardize: Standardize = "per-relabeling",
) -> ExactLogrankResult:
    """Two-sample log-rank test with a permutation (re-randomization) p-value.

    Under the null hypothesis the group labels are exchangeable. The test
    statistic is recomputed for every relabeling of the rows into groups of
    the observed sizes, keeping the risk-set structure (times, events) fixed.

    Parameters
    ----------
    time : array-like of float
        Observed times, finite and ``>= 0``.
    event : array-like of bool or 0/1
        1/True = event, 0/False = censored.
    group : array-like
        Exactly two distinct labels.
    max_enumeration : int, default 1_000_000
        Enumerate all ``C(n, n1)`` relabelings when there are at most this many
        (9 vs 9 gives 48,620); otherwise draw ``n_resamples`` at random.
    n_resamples : int, default 100_000
        Number of random relabelings for the Monte Carlo method.
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng`` for the Monte Carlo method.
    standardize : {"per-relabeling", "permutation"}
        ``"per-relabeling"`` (default): ``T = (O1 - E1) / sqrt(V)`` with the
        hypergeometric variance ``V`` recomputed for each relabeling - the
        signed square root of the usual log-rank chi-square.
        ``"permutation"``: ``(O1 - E1)`` divided by its permutation standard
        deviation, which is the same for every relabeling; this orders
        relabelings by ``|O1 - E1|`` alone and is the standardized linear
        statistic of R's ``coin::logrank_test`` (default mid-rank log-rank
        scores, which equal ``-a_i`` below, ties included; coin's sign is
        therefore the opposite of ours). The two choices can give different
        p-values: 0.0543 vs 0.0805 on the untied 9 vs 9 case of the tests.

    Returns
    -------
    ExactLogrankResult

    Notes
    -----
    ``O1 - E1 = sum_i x_i a_i`` is linear in the group-1 indicator ``x`` with
    log-rank scores ``a_i = event_i - Lambda(T_i)`` (Nelson-Aalen of the pooled
    sample); the group-1 numbers at risk ``n_1j`` are suffix sums of ``x`` in
    time order. A block of relabelings is therefore a 0/1 matrix whose
    cumulative sums give every ``n_1j`` at once - no loop over relabelings.
    The exact p-value counts relabelings with ``|T*| >= |t| (1 - 1e-9)``; the
    Monte Carlo p-value is ``(b + 1) / (B + 1)`` (Phipson & Smyth 2010) with
    standard error ``sqrt(p (1 - p) / B)``. A relabeling whose variance is 0
    gets ``T* = 0``.

    References
    ----------
    .. [1] Heimann G, Neuhaus G. Permutational distribution of the log-rank
       statistic under random censorship with applications to carcinogenicity
       assays. Biometrics 1998;54:168-184.
    .. [2] Phipson B, Smyth GK. Permutation p-values should never be zero.
       Stat Appl Genet Mol Biol 2010;9:39.
    .. [3] Hothorn T, Hornik K, van de Wiel MA, Zeileis A. Implementing a
       class of permutation tests: the coin package. J Stat Softw 2008;28(8).

    Examples
    --------
    >>> res = exact_logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], list("aaabbb"))
    >>> res.method, res.n_permutations, round(res.pvalue, 4)
    ('exact', 20, 0.1)
    """
    if standardize not in ("per-relabeling", "permutation"):
        raise ValueError(f"standardize: must be 'per-relabeling' or 'permutation': {standardize!r}")
    if max_enumeration < 1 or n_resamples < 1:
        raise ValueError("max_enumeration and n_resamples: must be >= 1")
    t = as_time(time)
    n = t.shape[0]
    e = as_event(event, n)
    labels = as_labels(group, n, name="group")
    if len(labels.levels) != 2:
        raise ValueError(
            f"group: the exact log-rank test needs exactly 2 groups, found "
            f"{len(labels.levels)}: {labels.levels!r}"
        )
    if not e.any():
        raise ValueError("event: no events; the log-rank test is undefined when all are censored")
    design = _design(t, e)
    x_obs = (labels.codes == 0)[design.order]  # groups[0] is "group 1"
    n1 = int(x_obs.sum())
    perm_sd = _permutation_sd(design.score, n1)
    observed = float(
        _statistics(x_obs[None, :].astype(np.float64), design, standardize, perm_sd)[0]
    )
    if not np.isfinite(observed) or _variance(x_obs[None, :].astype(np.float64), design)[0] <= 0:
        raise ValueError("group: no event time has both groups at risk; the test is undefined")
    threshold = abs(observed) * (1.0 - _REL_TOL)

    r = min(n1, n - n1)  # enumerate the smaller group; |T| is symmetric under swapping
    total = math.comb(n, r)
    if total <= max_enumeration:
        hits = 0
        for block in _subsets(n, r):
            values = _statistics(block, design, standardize, perm_sd)
            hits += int(np.count_nonzero(np.abs(values) >= threshold))
        return ExactLogrankResult(
            observed, hits / total, "exact", total, 0.0, labels.levels, standardize
        )

    rng = np.random.default_rng(seed)
    base = np.zeros(n, dtype=np.float64)
    base[:n1] = 1.0
    rows = max(1, _BLOCK_CELLS // n)
    hits = 0
    done = 0
    while done < n_resamples:
        size = min(rows, n_resamples - done)
        block = rng.permuted(np.broadcast_to(base, (size, n)), axis=1)
        values = _statistics(block, design, standardize, perm_sd)
        hits += int(np.count_nonzero(np.abs(values) >= threshold))
        done += size
    pvalue = (hits + 1) / (n_resamples + 1)
    se = math.sqrt(pvalue * (1.0 - pvalue) / n_resamples)
    return ExactLogrankResult(
        observed, pvalue, "monte-carlo", n_resamples, se, labels.levels, standardize
    )


def _design(time: NDArray[np.float64], event: NDArray[np.bool_]) -> _Design:
    order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    table = count_by_time(time, event.view(np.uint8), 2)
    deaths = table.counts[1].astype(np.float64)
    total = table.counts[0] + table.counts[1]
    n = time.shape[0]
    at_risk = (n - np.cumsum(total) + total).astype(np.float64)
    cumhaz = np.cumsum(deaths / at_risk)
    row_time_index = np.searchsorted(table.time, sorted_time)
    score = event[order].astype(np.float64) - cumhaz[row_time_index]
    start = np.searchsorted(sorted_time, table.time, side="left")
    has_event = deaths > 0
    n_j = at_risk[has_event]
    d_j = deaths[has_event]
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(n_j > 1.0, d_j * (n_j - d_j) / ((n_j - 1.0) * n_j * n_j), 0.0)
    return _Design(score, start[has_event].astype(np.intp), n_j, weight, order)


def _permutation_sd(score: NDArray[np.float64], n1: int) -> float:
    """SD of sum(x_i a_i) over all relabelings with sum(x) = n1 (scores sum to 0)."""
    n = score.shape[0]
    centred = score - score.mean()
    return math.sqrt(n1 * (n - n1) / (n * (n - 1.0)) * float(centred @ centred))


def _variance(x: NDArray[np.float64], design: _Design) -> NDArray[np.float64]:
    """Hypergeometric log-rank variance for each row of the 0/1 matrix x (time order)."""
    prefix = np.cumsum(x, axis=1)
    before = np.zeros((x.shape[0], design.first.shape[0]))
    positive = design.first > 0
    before[:, positive] = prefix[:, design.first[positive] - 1]
    n1 = prefix[:, -1:] - before  # group-1 at risk at each event time
    return np.einsum("pj,j->p", n1 * (design.n_at_risk - n1), design.weight)


def _statistics(
    x: NDArray[np.float64], design: _Design, standardize: str, perm_sd: float
) -> NDArray[np.float64]:
    diff = np.einsum("pi,i->p", x, design.score)  # O1 - E1 for every relabeling (no BLAS)
    if standardize == "permutation":
        return diff / perm_sd if perm_sd > 0 else np.zeros_like(diff)
    var = _variance(x, design)
    out = np.zeros_like(diff)
    positive = var > 0
    out[positive] = diff[positive] / np.sqrt(var[positive])
    return out


def _subsets(n: int, r: int) -> Iterator[NDArray[np.float64]]:
    """All r-subsets of range(n) as 0/1 float rows, in blocks."""
    rows = max(1, _BLOCK_CELLS // max(n, 1))
    combos = itertools.combinations(range(n), r)
    while True:
        flat = np.fromiter(
            itertools.chain.from_iterable(itertools.islice(combos, rows)), dtype=np.intp
        )
        if flat.size == 0:
            return
        index = flat.reshape(-1, r)
        block = np.zeros((index.shape[0], n))
        np.put_along_axis(block, index, 1.0, axis=1)
        yield block
