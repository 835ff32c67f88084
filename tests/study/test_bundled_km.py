"""The published OS/FFS Kaplan-Meier figures and the FFS log-rank p follow from the bundled data.

An exact product-limit estimator with Greenwood variance in ``fractions.Fraction``
(square root only at the end) and a small Mantel-Cox log-rank test are written
here, independently of the package; the log-rank statistic is cross-checked once
against ``lifelines.statistics.logrank_test``. Endpoints as TRIAL.md 5: time 0 =
study day 1 (first rATG dose), months = days / 30.4375; OS event = death (HSCT
does not censor); FFS event = first of treatment failure (dated at HSCT or
salvage IST, D15), relapse or death (clonal evolution off, D16); censoring at
loss to follow-up or last contact. Expected values come from
``shared/spec/published_results.yaml`` (Lan et al., BMC Pediatr 2021;21:102).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "src" / "saatrial" / "study" / "bundled" / "nct02218437"
PUBLISHED_YAML = Path(__file__).resolve().parents[3] / "shared" / "spec" / "published_results.yaml"
DAYS_PER_MONTH = Fraction(304375, 10000)  # 30.4375 days, TRIAL.md 5
HORIZON_MONTHS = 48  # '4-year estimated' rates

FFS_EVENTS = {"HSCT", "SALVAGE_IST", "RELAPSE", "DEATH"}  # D15, D16
CENSORING = {"LOST_TO_FOLLOW_UP", "LAST_CONTACT"}


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    if not PUBLISHED_YAML.is_file():
        pytest.skip(f"published results not found at {PUBLISHED_YAML} (../shared is absent)")
    return yaml.safe_load(PUBLISHED_YAML.read_text(encoding="utf-8"))


def read(table: str) -> pd.DataFrame:
    return pd.read_csv(BUNDLED / f"{table}.csv", dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Observation:
    """One subject's time (days from day 1) and whether the endpoint event occurred."""

    subject_id: str
    arm: str
    days: int
    event: bool


def observations(endpoint: str) -> list[Observation]:
    """OS or FFS observation of every subject, from outcome_events and exposures."""
    arms = read("subjects").set_index("subject_id")["arm_id"]
    ex = read("exposures")
    day1 = pd.to_datetime(ex[ex["drug"] == "RATG"].groupby("subject_id")["start_date"].min())
    events = read("outcome_events")
    events["event_date"] = pd.to_datetime(events["event_date"])
    event_types = {"OS": {"DEATH"}, "FFS": FFS_EVENTS}[endpoint]
    out = []
    for sid, group in events.groupby("subject_id"):
        hits = group[group["event_type"].isin(event_types)]
        if not hits.empty:
            when, event = hits["event_date"].min(), True
        else:
            censor = group[group["event_type"].isin(CENSORING)]
            assert len(censor) == 1, f"{sid}: one censoring record expected"
            when, event = censor["event_date"].iloc[0], False
        out.append(Observation(sid, arms[sid], (when - day1[sid]).days, event))
    assert len(out) == len(arms)
    return out


@dataclass(frozen=True)
class KMPoint:
    survival: Fraction
    greenwood_sum: Fraction  # sum of d / (n (n - d)) over event times <= t

    @property
    def se(self) -> float:
        return float(self.survival) * math.sqrt(self.greenwood_sum)


def kaplan_meier_at(obs: list[Observation], t_days: Fraction) -> KMPoint:
    """Exact product-limit estimate and Greenwood sum at time ``t_days`` (events first at ties)."""
    survival, greenwood = Fraction(1), Fraction(0)
    for t in sorted({o.days for o in obs if o.event and o.days <= t_days}):
        at_risk = sum(1 for o in obs if o.days >= t)
        deaths = sum(1 for o in obs if o.days == t and o.event)
        survival *= Fraction(at_risk - deaths, at_risk)
        if at_risk > deaths:
            greenwood += Fraction(deaths, at_risk * (at_risk - deaths))
    return KMPoint(survival, greenwood)


@dataclass(frozen=True)
class LogRank:
    statistic: float
    pvalue: float
    observed: int  # events in the first group
    expected: Fraction


def logrank(obs: list[Observation], group: str) -> LogRank:
    """Mantel-Cox log-rank test (observed - expected, hypergeometric variance), 1 df."""
    observed, expected, variance = 0, Fraction(0), Fraction(0)
    for t in sorted({o.days for o in obs if o.event}):
        n = sum(1 for o in obs if o.days >= t)
        n1 = sum(1 for o in obs if o.days >= t and o.arm == group)
        d = sum(1 for o in obs if o.days == t and o.event)
        d1 = sum(1 for o in obs if o.days == t and o.event and o.arm == group)
        observed += d1
        expected += Fraction(d * n1, n)
        if n > 1:
            variance += Fraction(d * n1 * (n - n1) * (n - d), n * n * (n - 1))
    statistic = float((observed - expected) ** 2 / variance)
    # chi-square with 1 df: P(X > x) = erfc(sqrt(x / 2))
    return LogRank(statistic, math.erfc(math.sqrt(statistic / 2)), observed, expected)


def test_km_hand_worked_example() -> None:
    """The estimator on a hand-worked case: 9 at risk, event, censor, 4 events (TRIAL.md 5)."""
    obs = [Observation("d", "A", 5, True), Observation("c", "A", 6, False)]
    obs += [Observation(f"e{t}", "A", t, True) for t in (7, 8, 9, 10)]
    obs += [Observation(f"z{i}", "A", 50, False) for i in range(3)]
    point = kaplan_meier_at(obs, Fraction(48))
    assert point.survival == Fraction(8, 9) * Fraction(3, 7)
    expected_sum = Fraction(1, 72) + Fraction(1, 42) + Fraction(1, 30) + Fraction(1, 20)
    expected_sum += Fraction(1, 12)
    assert point.greenwood_sum == expected_sum
    assert round(point.se, 3) == 0.172


@pytest.mark.parametrize("endpoint", ["OS", "FFS"])
@pytest.mark.parametrize("arm", ["MSC", "CONTROL"])
def test_km_at_48_months(published: dict, endpoint: str, arm: str) -> None:
    expected = published["long_term"][f"{endpoint.lower()}_4y"][arm]
    obs = [o for o in observations(endpoint) if o.arm == arm]
    assert len(obs) == 9
    point = kaplan_meier_at(obs, HORIZON_MONTHS * DAYS_PER_MONTH)
    tol = published["tolerances"]
    assert abs(float(point.survival) - expected["est"]) <= tol["km_estimate"] / 2 + 1e-12
    assert abs(point.se - expected["se"]) <= tol["km_se"] / 2 + 1e-12
    assert round(float(point.survival), 3) == expected["est"]
    assert round(point.se, 3) == expected["se"]


def test_km_matches_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    for endpoint in ("OS", "FFS"):
        for arm in ("MSC", "CONTROL"):
            obs = [o for o in observations(endpoint) if o.arm == arm]
            kmf = lifelines.KaplanMeierFitter().fit(
                [o.days for o in obs], [o.event for o in obs]
            )
            at = float(HORIZON_MONTHS * DAYS_PER_MONTH)
            ours = float(kaplan_meier_at(obs, HORIZON_MONTHS * DAYS_PER_MONTH).survival)
            assert kmf.predict(at) == pytest.approx(ours, abs=1e-12)


def test_ffs_logrank_p(published: dict) -> None:
    result = logrank(observations("FFS"), "MSC")
    assert result.observed == 5
    assert round(result.pvalue, 3) == published["long_term"]["ffs_logrank_p"]
    assert abs(result.pvalue - published["long_term"]["ffs_logrank_p"]) <= (
        published["tolerances"]["p_value"] / 2
    )


def test_ffs_logrank_matches_lifelines() -> None:
    stats = pytest.importorskip("lifelines.statistics")
    obs = observations("FFS")
    msc = [o for o in obs if o.arm == "MSC"]
    ctl = [o for o in obs if o.arm == "CONTROL"]
    theirs = stats.logrank_test(
        [o.days for o in msc], [o.days for o in ctl],
        event_observed_A=[o.event for o in msc], event_observed_B=[o.event for o in ctl],
    )  # fmt: skip
    ours = logrank(obs, "MSC")
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(theirs.p_value, rel=1e-9)


def test_os_is_not_censored_by_hsct() -> None:
    """TRIAL.md 5: HSCT patients stay at risk for OS until their last contact."""
    ev = read("outcome_events")
    hsct = set(ev.loc[ev["event_type"] == "HSCT", "subject_id"])
    os_obs = {o.subject_id: o for o in observations("OS")}
    ffs_obs = {o.subject_id: o for o in observations("FFS")}
    assert len(hsct) == 6
    for sid in hsct:
        assert not os_obs[sid].event and ffs_obs[sid].event
        assert os_obs[sid].days > HORIZON_MONTHS * DAYS_PER_MONTH - 10 * DAYS_PER_MONTH
