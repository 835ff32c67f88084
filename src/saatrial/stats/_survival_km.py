"""Kaplan-Meier estimator with Greenwood standard errors, and median follow-up."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ._survival_input import (
    as_conf_level,
    as_event,
    as_labels,
    as_time,
    as_time_bounds,
    as_time_point,
    frozen,
)
from ._survival_table import km_counts, km_counts_by_group

#: Two survival values closer than this count as equal when looking for a flat
#: stretch at exactly 0.5 (same tolerance as R's ``quantile.survfit``).
_FLAT_TOL = float(np.sqrt(np.finfo(np.float64).eps))


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


@dataclass(frozen=True)
class SurvivalAt:
    """A step-function estimate read at one time.

    Attributes
    ----------
    time : float
        The time asked for.
    estimate : float
        Estimate at ``time`` (right-continuous: includes events at ``time``).
    se : float
        Its standard error (Greenwood for Kaplan-Meier).
    n_at_risk : int
        Number of rows with observed time ``>= time``.
    """

    time: float
    estimate: float
    se: float
    n_at_risk: int


@dataclass(frozen=True)
class MedianSurvival:
    """Median survival time with its confidence interval.

    Attributes
    ----------
    estimate, ci_lower, ci_upper : float
        ``nan`` when the curve (or the confidence curve) never reaches 0.5.
    conf_level : float
    """

    estimate: float
    ci_lower: float
    ci_upper: float
    conf_level: float


@dataclass(frozen=True, eq=False)
class KaplanMeierResult:
    """Kaplan-Meier estimate at each distinct observed time.

    All arrays have one entry per distinct time (event or censoring), ascending.

    Attributes
    ----------
    time : ndarray of float64
        Distinct observed times.
    n_at_risk : ndarray of int64
        Rows with observed time ``>= time[j]``.
    n_events, n_censored : ndarray of int64
        Events and censorings at ``time[j]``.
    survival : ndarray of float64
        Kaplan-Meier estimate S(time[j]) (events at ``time[j]`` included).
    se : ndarray of float64
        Greenwood standard error of ``survival``; ``nan`` where ``survival`` is 0
        (the Greenwood formula is 0 x inf there, as in R).
    greenwood_sum : ndarray of float64
        ``sum_{t_i <= t_j} d_i / (n_i (n_i - d_i))``: Greenwood's variance of
        ``-log S`` (``inf`` once S reaches 0).
    conf_level : float
    n : int
        Number of rows.
    ci_lower, ci_upper : ndarray of float64
        Plain (linear) pointwise interval ``S +- z se``, clipped to [0, 1]
        (computed on first access, then cached).
    ci_lower_loglog, ci_upper_loglog : ndarray of float64
        Log-log (Kalbfleisch-Prentice) interval ``exp(-exp(log(-log S) +- z s/log S))``
        with ``s`` the Greenwood SE of ``-log S``; [1, 1] where ``S`` is 1 and
        ``nan`` where ``S`` is 0 (R gives ``NA`` at both). Computed on first
        access, then cached.
    """

    time: NDArray[np.float64]
    n_at_risk: NDArray[np.int64]
    n_events: NDArray[np.int64]
    n_censored: NDArray[np.int64]
    survival: NDArray[np.float64]
    se: NDArray[np.float64]
    greenwood_sum: NDArray[np.float64]
    conf_level: float
    n: int

    @cached_property
    def ci_lower(self) -> NDArray[np.float64]:
        """Lower plain (linear) confidence limit, clipped at 0."""
        return self._plain(-1.0)

    @cached_property
    def ci_upper(self) -> NDArray[np.float64]:
        """Upper plain (linear) confidence limit, clipped at 1."""
        return self._plain(1.0)

    def _plain(self, sign: float) -> NDArray[np.float64]:
        limit = np.multiply(self.se, sign * _z(self.conf_level))
        limit += self.survival
        return frozen(np.clip(limit, 0.0, 1.0, out=limit))

    @cached_property
    def _loglog(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        # in place: at millions of rows each temporary costs as much as the arithmetic
        survival = self.survival
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            minus_log_s = np.log(survival)
            np.negative(minus_log_s, out=minus_log_s)  # -log S >= 0
            half = np.sqrt(self.greenwood_sum)
            half *= _z(self.conf_level)
            half /= minus_log_s  # z * SE(-log S) / |log S|
            upper = np.log(minus_log_s, out=minus_log_s)  # centre log(-log S), reused
            lower = np.add(upper, half)
            np.subtract(upper, half, out=upper)
            for limit in (lower, upper):  # S = exp(-exp(centre +- half))
                np.exp(limit, out=limit)
                np.negative(limit, out=limit)
                np.exp(limit, out=limit)
        is_one = survival >= 1.0
        lower[is_one] = 1.0
        upper[is_one] = 1.0
        is_zero = survival <= 0.0
        lower[is_zero] = np.nan
        upper[is_zero] = np.nan
        return frozen(lower), frozen(upper)

    @property
    def ci_lower_loglog(self) -> NDArray[np.float64]:
        """Lower log-log confidence limit."""
        return self._loglog[0]

    @property
    def ci_upper_loglog(self) -> NDArray[np.float64]:
        """Upper log-log confidence limit."""
        return self._loglog[1]

    def at(self, t: float) -> SurvivalAt:
        """Read the curve at time ``t`` (right-continuous step function).

        Before the first observed time the estimate is 1 with SE 0; after the
        last one the last value is carried forward (``n_at_risk`` is then 0).

        Parameters
        ----------
        t : float

        Returns
        -------
        SurvivalAt

        Examples
        --------
        >>> km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
        >>> km.at(2.5)
        SurvivalAt(time=2.5, estimate=0.5, se=0.25, n_at_risk=1)
        """
        t = as_time_point(t)
        j = int(np.searchsorted(self.time, t, side="right")) - 1
        k = int(np.searchsorted(self.time, t, side="left"))
        at_risk = int(self.n_at_risk[k]) if k < self.time.shape[0] else 0
        if j < 0:
            return SurvivalAt(t, 1.0, 0.0, at_risk)
        return SurvivalAt(t, float(self.survival[j]), float(self.se[j]), at_risk)

    def median(self) -> float:
        """Median survival time; ``nan`` if the curve never reaches 0.5.

        The smallest time with S(t) <= 0.5; where S is exactly 0.5 over an
        interval, the midpoint of that interval, ending at the next drop or, if
        there is none, at the last observed time (the rule of R's
        ``quantile.survfit``, which makes the median of uncensored data the
        ordinary sample median; lifelines takes the left end).

        Examples
        --------
        >>> kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]).median()
        2.5
        """
        return _quantile_time(self.time, self.survival, 0.5)

    def median_ci(self) -> MedianSurvival:
        """Median with the Brookmeyer-Crowley interval from the log-log curves.

        The limits are the times where the lower and the upper log-log
        confidence curves cross 0.5 (as R's ``survfit(conf.type = "log-log")``);
        ``nan`` where a curve never reaches 0.5.

        Returns
        -------
        MedianSurvival
        """
        return MedianSurvival(
            estimate=self.median(),
            # the lower curve crosses 0.5 first: it gives the lower limit
            ci_lower=_quantile_time(self.time, self.ci_lower_loglog, 0.5),
            ci_upper=_quantile_time(self.time, self.ci_upper_loglog, 0.5),
            conf_level=self.conf_level,
        )

    def at_risk_table(self, times: Any) -> pd.DataFrame:
        """Numbers at risk at the given times (for the table under a KM plot).

        Parameters
        ----------
        times : array-like of float

        Returns
        -------
        pandas.DataFrame
            Columns ``time`` and ``n_at_risk`` (rows with observed time >= time).

        Examples
        --------
        >>> kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1]).at_risk_table([0, 2, 5])
           time  n_at_risk
        0   0.0          4
        1   2.0          3
        2   5.0          0
        """
        query = np.asarray(times, dtype=np.float64).reshape(-1)
        if not np.isfinite(query).all():
            raise ValueError("times: must be finite numbers")
        k = np.searchsorted(self.time, query, side="left")
        padded = np.append(self.n_at_risk, 0)
        return pd.DataFrame({"time": query, "n_at_risk": padded[k]})

    def to_frame(self) -> pd.DataFrame:
        """All per-time arrays as one DataFrame (one row per distinct time)."""
        return pd.DataFrame(
            {
                "time": self.time,
                "n_at_risk": self.n_at_risk,
                "n_events": self.n_events,
                "n_censored": self.n_censored,
                "survival": self.survival,
                "se": self.se,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "ci_lower_loglog": self.ci_lower_loglog,
                "ci_upper_loglog": self.ci_upper_loglog,
            }
        )


def _quantile_time(time: NDArray[np.float64], curve: NDArray[np.float64], p: float) -> float:
    """First time the step curve is <= p; midpoint of a flat stretch at exactly p."""
    below = np.flatnonzero(curve <= p + _FLAT_TOL)
    if below.size == 0:
        return float("nan")
    i = int(below[0])
    if abs(float(curve[i]) - p) > _FLAT_TOL:
        return float(time[i])
    strictly = np.flatnonzero(curve[i:] < p - _FLAT_TOL)
    if strictly.size == 0:  # flat at p to the end of follow-up: R uses the last time
        return float((time[i] + time[-1]) / 2.0)
    return float((time[i] + time[i + int(strictly[0])]) / 2.0)


def km_from_counts(
    time: NDArray[np.float64],
    n_at_risk: NDArray[np.int64],
    n_events: NDArray[np.int64],
    n_censored: NDArray[np.int64],
    conf_level: float,
) -> KaplanMeierResult:
    """Kaplan-Meier arrays from per-time counts (times with no observation removed).

    Written with in-place float64 operations: at 10 million rows every
    temporary array costs as much as the arithmetic.
    """
    n = int(n_at_risk[0])
    survival = np.divide(n_events, n_at_risk)  # int inputs, float64 out: no temporaries
    np.subtract(1.0, survival, out=survival)
    np.cumprod(survival, out=survival)
    greenwood = np.subtract(n_at_risk, n_events, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood *= n_at_risk
        np.divide(n_events, greenwood, out=greenwood)  # d / (n (n - d)); inf when n == d
        np.cumsum(greenwood, out=greenwood)
        se = np.sqrt(greenwood)
        se *= survival  # 0 * inf = nan where S reached 0, as in R
    return KaplanMeierResult(
        time=frozen(time),
        n_at_risk=frozen(n_at_risk),
        n_events=frozen(n_events),
        n_censored=frozen(n_censored),
        survival=frozen(survival),
        se=frozen(se),
        greenwood_sum=frozen(greenwood),
        conf_level=conf_level,
        n=n,
    )


def kaplan_meier(time: Any, event: Any, *, conf_level: float = 0.95) -> KaplanMeierResult:
    """Kaplan-Meier estimate of the survival function with Greenwood standard errors.

    Parameters
    ----------
    time : array-like of float
        Observed times (event or censoring), finite and ``>= 0``.
    event : array-like of bool or 0/1
        1/True where the time is an event, 0/False where it is censored. At
        tied times events are taken to precede censorings (the usual convention).
    conf_level : float, default 0.95
        Level of the pointwise confidence intervals.

    Returns
    -------
    KaplanMeierResult
        One entry per distinct observed time; see its attributes.

    Notes
    -----
    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)`` and Greenwood's
    ``Var S(t) = S(t)^2 sum_{t_j <= t} d_j / (n_j (n_j - d_j))``.
    Whole-number times are tabulated by counting, other times by one value
    sort (see ``_survival_table``); the arithmetic is float64 throughout.

    References
    ----------
    .. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete
       observations. J Am Stat Assoc 1958;53:457-481.
    .. [2] Greenwood M. The natural duration of cancer. Reports on Public
       Health and Medical Subjects 33. HMSO; 1926.
    .. [3] Klein JP, Moeschberger ML. Survival Analysis, 2nd ed. Springer;
       2003. Section 4.2 and Table 4.1A.

    Examples
    --------
    The 6-MP arm of the Freireich leukaemia trial (weeks in remission;
    0 = censored):

    >>> t = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    >>> e = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    >>> km = kaplan_meier(t, e)
    >>> s = km.at(13)
    >>> round(s.estimate, 4), round(s.se, 4), s.n_at_risk
    (0.6902, 0.1068, 12)
    """
    level = as_conf_level(conf_level)
    t, bounds = as_time_bounds(time)
    e = as_event(event, t.shape[0])
    counts = km_counts(t, e, bounds)
    return km_from_counts(counts.time, counts.n_at_risk, counts.n_events, counts.n_censored, level)


def kaplan_meier_by_group(
    time: Any, event: Any, group: Any, *, conf_level: float = 0.95
) -> dict[Any, KaplanMeierResult]:
    """Kaplan-Meier estimate for each group (e.g. each arm) in one pass.

    The same as calling :func:`kaplan_meier` on each group's rows, but the
    rows are tabulated once (one bincount, or one sort with the group in the
    top bits of the sort key) instead of masking and sorting per group.

    Parameters
    ----------
    time : array-like of float
        Observed times, finite and ``>= 0``.
    event : array-like of bool or 0/1
        1/True = event, 0/False = censored.
    group : array-like
        Group label of each row (at most 128 distinct labels).
    conf_level : float, default 0.95

    Returns
    -------
    dict
        ``{label: KaplanMeierResult}`` in sorted label order.

    Examples
    --------
    >>> curves = kaplan_meier_by_group([1, 2, 3, 4], [1, 1, 0, 1], ["a", "b", "a", "b"])
    >>> {arm: km.survival.tolist() for arm, km in curves.items()}
    {'a': [0.5, 0.5], 'b': [0.5, 0.0]}
    """
    level = as_conf_level(conf_level)
    t, bounds = as_time_bounds(time)
    n = t.shape[0]
    e = as_event(event, n)
    labels = as_labels(group, n, name="group")
    k = len(labels.levels)
    if k > 128:
        raise ValueError(f"group: at most 128 groups are supported, found {k}")
    counts = km_counts_by_group(t, e, labels.codes.astype(np.uint8, copy=False), k, bounds)
    return {
        label: km_from_counts(c.time, c.n_at_risk, c.n_events, c.n_censored, level)
        for label, c in zip(labels.levels, counts, strict=True)
    }


@dataclass(frozen=True, eq=False)
class FollowUpResult:
    """Median follow-up, read two ways (TRIAL.md section 5 asks for both).

    Attributes
    ----------
    median : float
        Median follow-up by the reverse Kaplan-Meier method (censorings are the
        "events", events censor); ``nan`` if not reached.
    ci_lower, ci_upper : float
        Its log-log (Brookmeyer-Crowley) confidence limits.
    conf_level : float
    median_observed, min_observed, max_observed : float
        Median, minimum and maximum of all observed times (events and
        censorings alike) - the "median of observed times" reading.
    n : int
        Number of rows.
    reverse_km : KaplanMeierResult
        The reverse Kaplan-Meier curve itself (the potential follow-up distribution).
    """

    median: float
    ci_lower: float
    ci_upper: float
    conf_level: float
    median_observed: float
    min_observed: float
    max_observed: float
    n: int
    reverse_km: KaplanMeierResult


def reverse_km_follow_up(time: Any, event: Any, *, conf_level: float = 0.95) -> FollowUpResult:
    """Median follow-up by reverse Kaplan-Meier, plus the median of observed times.

    Parameters
    ----------
    time : array-like of float
        Observed times, finite and ``>= 0``.
    event : array-like of bool or 0/1
        Event indicator of the *endpoint* (1 = event, 0 = censored); it is
        reversed internally.
    conf_level : float, default 0.95

    Returns
    -------
    FollowUpResult

    Notes
    -----
    The reverse KM treats censoring as the event of interest and events as
    censoring, estimating the distribution of potential follow-up (Schemper &
    Smith 1996). Its median uses the same rule as
    :meth:`KaplanMeierResult.median`. Ties between an event and a censoring
    keep the original ordering rule (the reversed "events" first).

    References
    ----------
    .. [1] Schemper M, Smith TL. A note on quantifying follow-up in studies of
       failure time. Control Clin Trials 1996;17:343-346.

    Examples
    --------
    >>> fu = reverse_km_follow_up([5, 12, 20, 30, 40], [1, 0, 1, 0, 0])
    >>> fu.median, fu.median_observed, fu.min_observed, fu.max_observed
    (30.0, 20.0, 5.0, 40.0)
    """
    level = as_conf_level(conf_level)
    t = as_time(time)
    e = as_event(event, t.shape[0])
    km = kaplan_meier(t, ~e, conf_level=level)
    ci = km.median_ci()
    return FollowUpResult(
        median=ci.estimate,
        ci_lower=ci.ci_lower,
        ci_upper=ci.ci_upper,
        conf_level=level,
        median_observed=float(np.median(t)),
        min_observed=float(t.min()),
        max_observed=float(t.max()),
        n=int(t.shape[0]),
        reverse_km=km,
    )
