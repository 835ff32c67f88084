"""Overall and failure-free survival: Kaplan-Meier by arm, log-rank tests, follow-up.

ADTTE rows (``AVAL`` in months, ``CNSR`` 0 = event) per endpoint and arm:
Kaplan-Meier with Greenwood SE read at 12-48 months (the published 4-year
estimates at 48 months; no estimate past the arm's last observed time), the
log-rank (Mantel-Haenszel) test and its exact permutation version, and the
median follow-up from the OS times (median of observed times and reverse
Kaplan-Meier, TRIAL.md 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from saatrial.report.analysis_common import AnalysisLog, flag_mask
from saatrial.stats import (
    ExactLogrankResult,
    FollowUpResult,
    KaplanMeierResult,
    LogrankResult,
    SurvivalAt,
    exact_logrank_test,
    kaplan_meier,
    logrank_test,
    reverse_km_follow_up,
)

__all__ = [
    "KM_LANDMARK_MONTHS",
    "LANDMARK_MONTHS",
    "SurvivalAnalysis",
    "SurvivalSummary",
    "follow_up",
    "survival_analysis",
]

#: Time of the published survival estimates: 4 years = 48 months (TRIAL.md 7).
LANDMARK_MONTHS = 48.0


#: Times at which the survival table reads the Kaplan-Meier curves.
KM_LANDMARK_MONTHS: tuple[float, ...] = (12.0, 24.0, 36.0, 48.0)


@dataclass(frozen=True)
class SurvivalSummary:
    """One arm's Kaplan-Meier curve of one endpoint, read at the landmarks.

    Attributes
    ----------
    paramcd, arm : str
        ADTTE ``PARAMCD`` and arm.
    n, n_events, n_censored : int
        Subjects, events, censored.
    max_time : float
        Longest observed time (months).
    median : float
        Median survival (months); NaN when not reached.
    landmarks : dict
        Month -> :class:`~saatrial.stats.SurvivalAt`, or None when the curve
        does not reach that time (follow-up ends earlier).
    """

    paramcd: str
    arm: str
    n: int
    n_events: int
    n_censored: int
    max_time: float
    median: float
    landmarks: dict[float, SurvivalAt | None]


@dataclass(frozen=True)
class SurvivalAnalysis:
    """Kaplan-Meier curves and log-rank tests of OS and FFS.

    Attributes
    ----------
    km : dict
        ``(PARAMCD, ARMCD)`` -> :class:`~saatrial.stats.KaplanMeierResult`.
    summaries : dict
        ``(PARAMCD, ARMCD)`` -> :class:`SurvivalSummary`.
    logrank : dict
        PARAMCD -> :class:`~saatrial.stats.LogrankResult`.
    exact_logrank : dict
        PARAMCD -> :class:`~saatrial.stats.ExactLogrankResult`.
    """

    km: dict[tuple[str, str], KaplanMeierResult]
    summaries: dict[tuple[str, str], SurvivalSummary]
    logrank: dict[str, LogrankResult]
    exact_logrank: dict[str, ExactLogrankResult]


def survival_analysis(
    adtte: pd.DataFrame, arms: Sequence[str], log: AnalysisLog
) -> SurvivalAnalysis:
    """Kaplan-Meier per endpoint and arm, and the log-rank tests between arms.

    Parameters
    ----------
    adtte : pandas.DataFrame
        ADTTE (``PARAMCD`` OS/FFS, ``AVAL`` months, ``CNSR`` 0 = event).
    arms : sequence of str
    log : AnalysisLog
        Receives every estimate or test that could not be computed (an arm
        without data, no estimate at a landmark past the arm's follow-up,
        fewer than two arms, no events), with the ``results`` keys it leaves
        empty.

    Returns
    -------
    SurvivalAnalysis
    """
    km: dict[tuple[str, str], KaplanMeierResult] = {}
    summaries: dict[tuple[str, str], SurvivalSummary] = {}
    logrank: dict[str, LogrankResult] = {}
    exact: dict[str, ExactLogrankResult] = {}
    for paramcd in ("OS", "FFS"):
        rows = adtte[flag_mask(adtte["PARAMCD"], paramcd)]
        rows = rows[rows["AVAL"].notna() & rows["CNSR"].notna() & rows["ARMCD"].notna()]
        key_stem = f"long_term.{paramcd.lower()}_4y"
        for arm in arms:
            arm_rows = rows[flag_mask(rows["ARMCD"], arm)]
            where = f"Kaplan-Meier {paramcd} ({arm})"
            if arm_rows.empty:
                log.notice(where, "no subject of the arm has this endpoint",
                           f"{key_stem}.{arm}.est", f"{key_stem}.{arm}.se")
                continue
            time = arm_rows["AVAL"].astype(float).to_numpy()
            event = (arm_rows["CNSR"].astype(int) == 0).to_numpy()  # ADaM: CNSR 0 = event
            res = kaplan_meier(time, event)
            log.used("Kaplan-Meier estimate with Greenwood standard error")
            km[(paramcd, arm)] = res
            max_time = float(time.max())
            reached_zero = bool(res.survival.size and res.survival[-1] == 0.0)
            landmarks: dict[float, SurvivalAt | None] = {}
            for t in KM_LANDMARK_MONTHS:
                landmarks[t] = res.at(t) if (t <= max_time or reached_zero) else None
            missing = [t for t, v in landmarks.items() if v is None]
            if missing:
                keys = (f"{key_stem}.{arm}.est", f"{key_stem}.{arm}.se") if (
                    LANDMARK_MONTHS in missing) else ()
                log.notice(where, f"no estimate at {', '.join(f'{t:g}' for t in missing)} "
                           f"months: follow-up in the arm ends at {max_time:.1f} months", *keys)
            if not event.any():
                log.notice(where, "no events in the arm: the curve stays at 1")
            summaries[(paramcd, arm)] = SurvivalSummary(
                paramcd, arm, int(time.size), int(event.sum()), int((~event).sum()), max_time,
                res.median(), landmarks)
        present = [a for a in arms if (paramcd, a) in km]
        where = f"Log-rank {paramcd}"
        p_key = f"long_term.{paramcd.lower()}_logrank_p"
        if len(present) < 2:
            log.notice(where, f"no log-rank test: it needs 2 arms, {len(present)} with data",
                       p_key)
            continue
        sub = rows[rows["ARMCD"].astype("string").isin(present).fillna(False).to_numpy()]
        time = sub["AVAL"].astype(float).to_numpy()
        event = (sub["CNSR"].astype(int) == 0).to_numpy()
        group = sub["ARMCD"].astype(str).to_numpy()
        try:
            logrank[paramcd] = logrank_test(time, event, group)
            log.used("log-rank (Mantel-Haenszel) test")
        except ValueError as exc:
            log.notice(where, f"no log-rank test: {exc}", p_key)
            continue
        if len(present) == 2:
            try:
                exact[paramcd] = exact_logrank_test(time, event, group)
                log.used("exact (permutation) log-rank test")
            except ValueError as exc:
                log.notice(f"Exact log-rank {paramcd}", f"not computed: {exc}")
    return SurvivalAnalysis(km, summaries, logrank, exact)


def follow_up(adtte: pd.DataFrame, log: AnalysisLog) -> FollowUpResult | None:
    """Follow-up from the OS times of all subjects (TRIAL.md 5: both readings).

    Returns
    -------
    FollowUpResult or None
        Median of observed times (the paper's "48 months, range 5-54") and
        the reverse Kaplan-Meier median; None without OS rows.
    """
    rows = adtte[flag_mask(adtte["PARAMCD"], "OS")]
    rows = rows[rows["AVAL"].notna() & rows["CNSR"].notna()]
    if rows.empty:
        log.notice("Follow-up", "no OS times: follow-up not computed",
                   "long_term.median_follow_up_months", "long_term.follow_up_range_months")
        return None
    log.used("median follow-up: median of observed times and reverse Kaplan-Meier")
    return reverse_km_follow_up(rows["AVAL"].astype(float).to_numpy(),
                                (rows["CNSR"].astype(int) == 0).to_numpy())
