"""Exact (permutation) log-rank test: brute force, R coin, Monte Carlo."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from saatrial.stats.survival import exact_logrank_test, logrank_test

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"


def r_scalars() -> pd.Series:
    return pd.read_csv(REF / "r_scalars.csv").set_index("name")["value"]


def case(name: str) -> pd.DataFrame:
    data = pd.read_csv(REF / "exact_9v9.csv")
    return data[data["case"] == name].reset_index(drop=True)


def scipy_signed_statistic(time, event, in_first) -> float:
    """Signed (O - E)/sqrt(V) of the first group, computed by scipy (independent code)."""
    x = stats.CensoredData(uncensored=time[in_first & event], right=time[in_first & ~event])
    y = stats.CensoredData(uncensored=time[~in_first & event], right=time[~in_first & ~event])
    return float(stats.logrank(x, y).statistic)


@pytest.mark.parametrize(
    ("time", "event"),
    [
        # 6 vs 5, tied times (events and censorings tied at 4 and 7)
        ([2, 4, 4, 7, 9, 12, 3, 4, 7, 7, 15], [1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1]),
        # 6 vs 5, no ties
        (
            [1.5, 2.2, 3.9, 6.1, 8.4, 9.9, 2.8, 4.4, 5.0, 7.7, 11.3],
            [1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1],
        ),
    ],
)
def test_exact_p_equals_brute_force_with_scipy(time, event) -> None:
    time = np.array(time, dtype=float)
    event = np.array(event, dtype=bool)
    group = np.array(["a"] * 6 + ["b"] * 5)
    res = exact_logrank_test(time, event, group)
    observed = scipy_signed_statistic(time, event, group == "a")
    assert res.statistic == pytest.approx(observed, rel=1e-12)
    values = []
    for members in itertools.combinations(range(11), 6):
        mask = np.zeros(11, dtype=bool)
        mask[list(members)] = True
        values.append(scipy_signed_statistic(time, event, mask))
    values = np.abs(np.array(values))
    expected_p = np.mean(values >= abs(observed) * (1 - 1e-9))
    assert res.method == "exact"
    assert res.n_permutations == math.comb(11, 6) == len(values)
    assert res.pvalue == pytest.approx(expected_p, abs=1e-15)
    assert res.pvalue_se == 0.0


@pytest.mark.parametrize("name", ["tied", "untied"])
def test_nine_vs_nine_permutation_form_matches_r_coin(name: str) -> None:
    d = case(name)
    res = exact_logrank_test(d["time"], d["status"], d["group"], standardize="permutation")
    sc = r_scalars()
    assert res.n_permutations == 48_620
    assert res.pvalue == pytest.approx(sc[f"coin_{name}_split-up_p"], rel=1e-10)
    # coin's log-rank scores are minus ours: same magnitude, opposite sign
    assert res.statistic == pytest.approx(-sc[f"coin_{name}_split-up_z"], rel=1e-10)


@pytest.mark.parametrize("name", ["tied", "untied"])
def test_nine_vs_nine_default_form(name: str) -> None:
    d = case(name)
    res = exact_logrank_test(d["time"], d["status"], d["group"])
    # observed statistic: signed square root of R's survdiff chi-square
    chisq = r_scalars()[f"survdiff_{name}_chisq"]
    assert res.statistic**2 == pytest.approx(chisq, rel=1e-12)
    assert res.statistic == pytest.approx(
        math.copysign(
            math.sqrt(logrank_test(d["time"], d["status"], d["group"]).statistic), res.statistic
        ),
        rel=1e-12,
    )
    # every relabeling, computed with an independent direct formula
    time = d["time"].to_numpy(float)
    event = d["status"].to_numpy(bool)
    event_times = np.unique(time[event])
    at_risk = time[:, None] >= event_times[None, :]  # n x J
    deaths = (time[:, None] == event_times[None, :]) & event[:, None]
    n_j = at_risk.sum(axis=0)
    d_j = deaths.sum(axis=0)
    weight = np.where(n_j > 1, d_j * (n_j - d_j) / np.maximum(n_j - 1, 1) / n_j**2, 0.0)
    combos = np.array(list(itertools.combinations(range(18), 9)))
    x = np.zeros((combos.shape[0], 18))
    np.put_along_axis(x, combos, 1.0, axis=1)
    n1 = x @ at_risk
    o_minus_e = x @ deaths.sum(axis=1) - n1 @ (d_j / n_j)
    v = (n1 * (n_j - n1)) @ weight
    t = np.where(v > 0, o_minus_e / np.sqrt(np.where(v > 0, v, 1.0)), 0.0)
    expected_p = np.mean(np.abs(t) >= abs(res.statistic) * (1 - 1e-9))
    assert res.pvalue == pytest.approx(expected_p, abs=1e-15)
    if name == "tied":  # documented: equal to coin here, different on the untied case
        assert res.pvalue == pytest.approx(r_scalars()["coin_tied_split-up_p"], rel=1e-10)
    else:
        assert round(res.pvalue, 4) == 0.0543


def test_monte_carlo_is_seeded_and_close_to_exact() -> None:
    d = case("untied")
    exact = exact_logrank_test(d["time"], d["status"], d["group"])
    mc = exact_logrank_test(
        d["time"], d["status"], d["group"], max_enumeration=1000, n_resamples=20_000, seed=3
    )
    again = exact_logrank_test(
        d["time"], d["status"], d["group"], max_enumeration=1000, n_resamples=20_000, seed=3
    )
    assert mc.method == "monte-carlo"
    assert mc.n_permutations == 20_000
    assert mc.pvalue == again.pvalue  # seeded
    assert mc.pvalue_se == pytest.approx(math.sqrt(mc.pvalue * (1 - mc.pvalue) / 20_000))
    assert abs(mc.pvalue - exact.pvalue) < 4 * mc.pvalue_se


def test_monte_carlo_p_value_is_never_zero() -> None:
    # completely separated groups: (b + 1) / (B + 1) > 0 (Phipson & Smyth 2010)
    time = np.arange(1, 41, dtype=float)
    group = np.repeat([0, 1], 20)
    res = exact_logrank_test(time, np.ones(40), group, n_resamples=999, seed=1)
    assert res.method == "monte-carlo"
    assert res.pvalue >= 1 / 1000


def test_swapping_labels_flips_sign_not_p() -> None:
    d = case("tied")
    a = exact_logrank_test(d["time"], d["status"], d["group"])
    b = exact_logrank_test(d["time"], d["status"], d["group"].map({"A": "Z", "B": "B"}))
    assert b.groups == ("B", "Z")
    assert b.statistic == pytest.approx(-a.statistic, rel=1e-12)
    assert b.pvalue == pytest.approx(a.pvalue, rel=1e-12)


def test_unequal_sizes_enumerate_the_smaller_group() -> None:
    time = [1, 2, 3, 4, 5, 6, 7]
    res = exact_logrank_test(time, [1] * 7, ["x", "y", "y", "y", "y", "y", "y"])
    assert res.n_permutations == 7
    # "x" failed first. By hand, for x in position p: x first gives O-E = 1 - 1/7,
    # V = 6/49, |T| = 2.449; x second |T| = 0.690 / sqrt(6/49 + 5/36) = 1.350;
    # x last O-E = 1 - (1/7 + ... + 1/1) = -1.593, V = sum_{n=2..7} (n-1)/n^2 = 1.081,
    # |T| = 1.532. Only the observed position is as extreme: p = 1/7.
    assert res.statistic == pytest.approx((6 / 7) / math.sqrt(6 / 49), rel=1e-12)
    assert res.pvalue == pytest.approx(1 / 7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group": [0, 1, 2, 0]}, "exactly 2 groups, found 3"),
        ({"event": [0, 0, 0, 0]}, "event: no events"),
        ({"standardize": "studentized"}, "standardize"),
        ({"max_enumeration": 0}, "max_enumeration"),
    ],
)
def test_bad_input(kwargs, message) -> None:
    args = {"time": [1, 2, 3, 4], "event": [1, 1, 0, 1], "group": [0, 1, 0, 1]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        exact_logrank_test(**args)
