"""Kaplan-Meier, Greenwood SE, medians and reverse-KM follow-up.

References: Klein & Moeschberger Table 4.1A (re-derived by hand below), R
``survival::survfit`` on the AML data (tests/reference/survival), lifelines
and statsmodels on random data, and a naive O(n^2) estimator written here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saatrial.stats.survival import kaplan_meier, kaplan_meier_by_group, reverse_km_follow_up

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"

# Freireich et al. 1963 remission data as given by Gehan (1965): 6-MP arm, weeks;
# event 0 = censored (still in remission).
MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


def r_scalars() -> pd.Series:
    return pd.read_csv(REF / "r_scalars.csv").set_index("name")["value"]


# --- textbook values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "surv", "se"),
    [
        # Klein & Moeschberger Table 4.1A. Hand derivation (n at risk, d events):
        # t=6: 21,3 -> S=18/21; t=7: 17,1; t=10: 15,1; t=13: 12,1; t=16: 11,1;
        # t=22: 7,1; t=23: 6,1. Greenwood sums d/(n(n-d)): 3/378, +1/272, +1/210,
        # +1/132, +1/110, +1/42, +1/30 -> SE(22) = 0.5378*sqrt(0.05685) = 0.1283,
        # SE(23) = 0.4482*sqrt(0.09019) = 0.1346 (the brief's 0.123/0.128 are a row off).
        (6, 0.857, 0.076),
        (7, 0.807, 0.087),
        (10, 0.753, 0.096),
        (13, 0.690, 0.107),
        (16, 0.627, 0.114),
        (22, 0.538, 0.128),
        (23, 0.448, 0.135),
    ],
)
def test_6mp_arm_matches_klein_moeschberger_table_4_1a(t: int, surv: float, se: float) -> None:
    at = kaplan_meier(MP_TIME, MP_EVENT).at(t)
    assert at.estimate == pytest.approx(surv, abs=0.0005)
    assert at.se == pytest.approx(se, abs=0.0005)


def test_6mp_arm_exact_fractions() -> None:
    km = kaplan_meier(MP_TIME, MP_EVENT)
    s22 = (18 / 21) * (16 / 17) * (14 / 15) * (11 / 12) * (10 / 11) * (6 / 7)
    gw22 = 3 / (21 * 18) + 1 / (17 * 16) + 1 / (15 * 14) + 1 / (12 * 11) + 1 / (11 * 10) + 1 / 42
    assert km.at(22).estimate == pytest.approx(s22, rel=1e-14)
    assert km.at(22).se == pytest.approx(s22 * math.sqrt(gw22), rel=1e-14)
    assert km.at(22).n_at_risk == 7
    assert km.time.tolist() == [6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 34, 35]
    assert km.n_at_risk[:3].tolist() == [21, 17, 16]
    assert km.n_events[:3].tolist() == [3, 1, 0]
    assert km.n_censored[:3].tolist() == [1, 0, 1]
    assert km.n == 21


def test_small_hand_worked_case() -> None:
    # times 1, 2, 2+, 3: S = 3/4, 1/2, 0; Greenwood at 2: (1/2)^2 (1/12 + 1/6) -> SE 0.25
    km = kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])
    assert km.survival.tolist() == [0.75, 0.5, 0.0]
    assert km.se[1] == pytest.approx(0.25, rel=1e-15)
    assert km.se[0] == pytest.approx(0.75 * math.sqrt(1 / 12), rel=1e-15)
    assert math.isnan(km.se[2])  # S = 0: Greenwood is 0 x inf, NaN as in R
    assert math.isnan(km.ci_lower_loglog[2]) and math.isnan(km.ci_upper_loglog[2])
    z = 1.959963984540054
    assert km.ci_lower[1] == pytest.approx(0.5 - z * 0.25, rel=1e-12)
    assert km.ci_upper[0] == 1.0  # 0.75 + z * 0.2165 clipped at 1


# --- R survfit on AML ----------------------------------------------------------------


@pytest.mark.parametrize("arm", ["Maintained", "Nonmaintained"])
def test_aml_matches_r_survfit(arm: str) -> None:
    data = pd.read_csv(REF / "aml.csv")
    ref = pd.read_csv(REF / "aml_survfit.csv")
    ref = ref[ref["group"] == arm].reset_index(drop=True)
    part = data[data["x"] == arm]
    got = kaplan_meier(part["time"], part["status"]).to_frame()
    np.testing.assert_array_equal(got["time"], ref["time"])
    np.testing.assert_array_equal(got["n_at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(got["n_events"], ref["n_event"])
    np.testing.assert_array_equal(got["n_censored"], ref["n_censor"])
    for ours, theirs in [
        ("survival", "surv"),
        ("se", "std_err"),
        ("ci_lower", "lower_plain"),
        ("ci_upper", "upper_plain"),
        ("ci_lower_loglog", "lower_loglog"),
        ("ci_upper_loglog", "upper_loglog"),
    ]:
        np.testing.assert_allclose(got[ours], ref[theirs], rtol=1e-12, atol=1e-14, err_msg=ours)


@pytest.mark.parametrize("arm", ["Maintained", "Nonmaintained"])
def test_aml_median_and_ci_match_r(arm: str) -> None:
    data = pd.read_csv(REF / "aml.csv")
    part = data[data["x"] == arm]
    med = kaplan_meier(part["time"], part["status"]).median_ci()
    sc = r_scalars()
    for ours, key in [
        ("estimate", "median"),
        ("ci_lower", "median_lower"),
        ("ci_upper", "median_upper"),
    ]:
        expected = sc[f"aml_{key}_{arm}"]
        value = getattr(med, ours)
        if np.isnan(expected):
            assert np.isnan(value), ours
        else:
            assert value == expected, ours


# --- medians: the rule, hand-worked ------------------------------------------------


def test_median_of_uncensored_even_sample_is_the_sample_median() -> None:
    # S = 0.75, 0.5, 0.25, 0: flat at exactly 0.5 on [2, 3) -> midpoint 2.5
    assert kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]).median() == 2.5


def test_median_flat_at_half_to_the_end_uses_last_time_like_r() -> None:
    # S = 0.75, 0.5 then censored at 3 and 4: R's quantile.survfit gives (2 + 4) / 2 = 3
    assert kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0]).median() == 3.0


def test_median_just_below_half() -> None:
    # 5 subjects: S = 0.8, 0.6, 0.4 -> first S <= 0.5 at t = 3 (no flat stretch at 0.5)
    assert kaplan_meier([1, 2, 3, 4, 5], [1, 1, 1, 0, 0]).median() == 3.0


def test_median_not_reached_is_nan() -> None:
    assert math.isnan(kaplan_meier([1, 2, 3, 4], [1, 0, 0, 0]).median())


# --- reading the step function -----------------------------------------------------


def test_at_is_right_continuous_with_documented_ends() -> None:
    km = kaplan_meier([2, 4, 4, 6], [1, 0, 1, 1])
    before = km.at(1.5)
    assert (before.estimate, before.se, before.n_at_risk) == (1.0, 0.0, 4)
    assert km.at(2).estimate == 0.75  # the event at t = 2 is included at t = 2
    assert km.at(2).n_at_risk == 4  # at risk just before 2
    assert km.at(3.999).estimate == 0.75
    assert km.at(4).estimate == pytest.approx(0.75 * 2 / 3)
    after = km.at(100)
    assert after.estimate == 0.0 and after.n_at_risk == 0
    with pytest.raises(ValueError, match="t: must be a finite number"):
        km.at(float("nan"))


def test_at_risk_table() -> None:
    km = kaplan_meier([2, 4, 4, 6], [1, 0, 1, 1])
    table = km.at_risk_table([0, 2, 3, 4, 6, 7])
    assert table["n_at_risk"].tolist() == [4, 4, 3, 3, 1, 0]
    assert table["time"].tolist() == [0, 2, 3, 4, 6, 7]


def test_all_censored_gives_flat_curve() -> None:
    km = kaplan_meier([3, 1, 2], [0, 0, 0])
    assert km.survival.tolist() == [1.0, 1.0, 1.0]
    assert km.se.tolist() == [0.0, 0.0, 0.0]
    assert km.ci_lower_loglog.tolist() == [1.0, 1.0, 1.0]
    assert math.isnan(km.median())


def test_results_are_read_only() -> None:
    km = kaplan_meier([1, 2, 3], [1, 0, 1])
    with pytest.raises(ValueError):
        km.survival[0] = 0.5


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([], [], "time: empty input"),
        ([1, -2, 3], [1, 1, 1], r"time\[1\]: must be finite and >= 0: -2.0"),
        ([1, float("nan")], [1, 1], r"time\[1\]: must be finite and >= 0: nan"),
        ([1, float("inf")], [1, 1], r"time\[1\]: must be finite and >= 0: inf"),
        ([1, 2], [1, 2], r"event\[1\]: must be 0/1 or boolean: 2"),
        ([1, 2], [1], "event: length 1 does not match time length 2"),
        ([[1, 2]], [[1, 0]], "time: must be one-dimensional"),
        (pd.Series([1, None], dtype="Int64"), [1, 1], r"time\[1\]: must not be missing"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(time, event, message) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(time, event)


def test_non_numeric_time_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="time: must be numeric"):
        kaplan_meier(np.array(["2020-01-01"], dtype="datetime64[D]"), [1])
    with pytest.raises(TypeError, match="time: must be numeric"):
        kaplan_meier([True, False], [1, 1])


def test_conf_level_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="conf_level"):
        kaplan_meier([1, 2], [1, 1], conf_level=95)


# --- independent implementations -----------------------------------------------------


def naive_km(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """O(n^2) textbook Kaplan-Meier + Greenwood, written independently for the tests."""
    times = np.unique(time)
    surv, gw, out_s, out_se = 1.0, 0.0, [], []
    for t in times:
        n = np.sum(time >= t)
        d = np.sum((time == t) & event)
        surv *= 1 - d / n
        gw += d / (n * (n - d)) if n > d else math.inf
        out_s.append(surv)
        out_se.append(surv * math.sqrt(gw) if surv > 0 else math.nan)
    return times, np.array(out_s), np.array(out_se)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=1, max_size=40),
    st.sampled_from([1.0, 0.37, 1e-3]),
)
def test_matches_naive_estimator_on_tied_data(rows, scale) -> None:
    # scale 1.0 -> whole numbers (counting path); 0.37 and 1e-3 -> value-sort path
    time = np.array([r[0] for r in rows], dtype=float) * scale
    event = np.array([r[1] for r in rows])
    km = kaplan_meier(time, event)
    times, surv, se = naive_km(time, event)
    np.testing.assert_array_equal(km.time, times)
    np.testing.assert_allclose(km.survival, surv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(km.se, se, rtol=1e-10, atol=1e-15)


def test_matches_lifelines_and_statsmodels_on_random_tied_data() -> None:
    lifelines = pytest.importorskip("lifelines")
    from statsmodels.duration.survfunc import SurvfuncRight

    rng = np.random.default_rng(7)
    time = np.round(rng.exponential(20.0, 800), 1)
    event = rng.random(800) < 0.6
    km = kaplan_meier(time, event)
    fitter = lifelines.KaplanMeierFitter().fit(time, event)
    np.testing.assert_allclose(
        fitter.survival_function_.loc[km.time].iloc[:, 0], km.survival, rtol=1e-12
    )
    ci = fitter.confidence_interval_.loc[km.time].to_numpy()  # lifelines: log-log
    np.testing.assert_allclose(ci[:, 0], km.ci_lower_loglog, rtol=1e-10)
    np.testing.assert_allclose(ci[:, 1], km.ci_upper_loglog, rtol=1e-10)
    assert km.median() == fitter.median_survival_time_  # no flat stretch at 0.5 here
    sm = SurvfuncRight(time, event.astype(float))
    # statsmodels reports event times only
    rows = np.isin(km.time, sm.surv_times)
    np.testing.assert_allclose(km.survival[rows], sm.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(km.se[rows], sm.surv_prob_se, rtol=1e-10)


# --- reverse Kaplan-Meier follow-up --------------------------------------------------


def test_reverse_km_follow_up_matches_r_on_aml() -> None:
    data = pd.read_csv(REF / "aml.csv")
    fu = reverse_km_follow_up(data["time"], data["status"])
    sc = r_scalars()
    assert fu.median == sc["aml_revkm_median"]
    assert fu.ci_lower == sc["aml_revkm_lower"]
    assert math.isnan(fu.ci_upper) and math.isnan(sc["aml_revkm_upper"])
    # median of observed times: 23 values -> the 12th smallest
    assert fu.median_observed == float(np.median(data["time"]))
    assert (fu.min_observed, fu.max_observed, fu.n) == (5.0, 161.0, 23)


def test_reverse_km_hand_worked() -> None:
    # censorings at 12, 30, 40 are the reverse "events": S_rev(12) = 3/4, S_rev(30) = 3/8
    fu = reverse_km_follow_up([5, 12, 20, 30, 40], [1, 0, 1, 0, 0])
    assert fu.reverse_km.survival.tolist() == [1.0, 0.75, 0.75, 0.375, 0.0]
    assert fu.median == 30.0
    assert (fu.median_observed, fu.min_observed, fu.max_observed) == (20.0, 5.0, 40.0)


def test_reverse_km_with_no_censoring_is_not_reached() -> None:
    fu = reverse_km_follow_up([1, 2, 3], [1, 1, 1])
    assert math.isnan(fu.median)
    assert fu.median_observed == 2.0


# --- one pass for all groups ---------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.booleans(), st.integers(0, 4)), min_size=1, max_size=40
    ),
    st.sampled_from([1.0, 0.37, 1e-3, 1e250]),
)
def test_by_group_equals_separate_calls(rows, scale) -> None:
    time = np.array([r[0] for r in rows], dtype=float) * scale
    event = np.array([r[1] for r in rows])
    group = np.array([f"arm{r[2]}" for r in rows])
    curves = kaplan_meier_by_group(time, event, group)
    assert list(curves) == sorted(set(group.tolist()))
    for label, km in curves.items():
        alone = kaplan_meier(time[group == label], event[group == label])
        for field in ("time", "n_at_risk", "n_events", "n_censored", "survival", "se"):
            np.testing.assert_array_equal(getattr(km, field), getattr(alone, field), field)


def test_by_group_on_aml_matches_r() -> None:
    data = pd.read_csv(REF / "aml.csv")
    ref = pd.read_csv(REF / "aml_survfit.csv")
    curves = kaplan_meier_by_group(data["time"] / 7.0, data["status"], data["x"])  # sort path
    for arm, km in curves.items():
        expected = ref[ref["group"] == arm]
        np.testing.assert_allclose(km.time * 7.0, expected["time"], rtol=1e-15)
        np.testing.assert_allclose(km.survival, expected["surv"], rtol=1e-12)
        np.testing.assert_allclose(km.se, expected["std_err"], rtol=1e-12)


# --- the trial's published 4-year estimates (TRIAL.md section 5) ---------------------


def test_reproduces_published_4_year_estimates_from_hand_built_arms(published_results) -> None:
    # MSC arm FFS as TRIAL.md section 5 derives it: death at month 5, one patient lost at
    # month 6, four treatment failures at months 7-10, five followed to 48-54 months:
    # S(48) = 8/9 x 3/7 = 0.381, Greenwood SE 0.172. OS: one death among 9 -> 8/9 +- 0.105.
    # CONTROL FFS: three events, no earlier censoring -> 6/9 +- 0.157.
    tol = published_results["tolerances"]
    long_term = published_results["long_term"]
    arms = {
        ("ffs_4y", "MSC"): ([5, 6, 7, 8, 9, 10, 48, 50, 54], [1, 0, 1, 1, 1, 1, 0, 0, 0]),
        ("os_4y", "MSC"): ([5, 6, 48, 49, 50, 51, 52, 53, 54], [1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("ffs_4y", "CONTROL"): ([3, 6, 7, 48, 49, 50, 51, 52, 54], [1, 1, 1, 0, 0, 0, 0, 0, 0]),
        ("os_4y", "CONTROL"): ([7, 48, 48, 49, 50, 51, 52, 53, 54], [1, 0, 0, 0, 0, 0, 0, 0, 0]),
    }
    for (endpoint, arm), (months, event) in arms.items():
        at = kaplan_meier(months, event).at(48)
        published = long_term[endpoint][arm]
        assert at.estimate == pytest.approx(published["est"], abs=tol["km_estimate"]), arm
        assert at.se == pytest.approx(published["se"], abs=tol["km_se"]), arm
