"""Log-rank test: textbook values, R survdiff, lifelines/statsmodels, float64 at 2e6 rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy
from scipy import stats

from saatrial.stats.survival import logrank_test

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"

# Freireich et al. 1963 remission data (Gehan 1965), weeks; 0 = censored.
MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO_TIME = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def r_scalars() -> pd.Series:
    return pd.read_csv(REF / "r_scalars.csv").set_index("name")["value"]


def test_freireich_6mp_vs_placebo_chi_square_16_79() -> None:
    res = logrank_test(
        MP_TIME + PLACEBO_TIME, MP_EVENT + [1] * 21, ["6-MP"] * 21 + ["placebo"] * 21
    )
    assert round(res.statistic, 2) == 16.79  # Kleinbaum & Klein; Gehan 1965 data
    assert res.df == 1
    assert res.pvalue == pytest.approx(stats.chi2.sf(res.statistic, 1), rel=1e-12)
    assert res.groups == ("6-MP", "placebo")
    assert res.observed.tolist() == [9.0, 21.0]
    assert res.expected.sum() == pytest.approx(30.0)  # sum of E = total events
    assert res.expected[0] == pytest.approx(19.25, abs=0.005)  # K&K: E1 = 19.25
    assert res.n.tolist() == [21, 21]


def test_aml_miller_chi_square_3_40_p_0_065() -> None:
    aml = pd.read_csv(REF / "aml.csv")
    res = logrank_test(aml["time"], aml["status"], aml["x"])
    assert round(res.statistic, 2) == 3.40  # Miller 1981
    assert round(res.pvalue, 3) == 0.065
    sc = r_scalars()
    assert res.statistic == pytest.approx(sc["aml_chisq"], rel=1e-12)
    assert res.pvalue == pytest.approx(sc["aml_p"], rel=1e-12)
    assert res.groups == ("Maintained", "Nonmaintained")
    np.testing.assert_allclose(
        res.observed, [sc["aml_observed_Maintained"], sc["aml_observed_Nonmaintained"]]
    )
    np.testing.assert_allclose(
        res.expected,
        [sc["aml_expected_Maintained"], sc["aml_expected_Nonmaintained"]],
        rtol=1e-12,
    )
    np.testing.assert_allclose(res.variance[0, 0], sc["aml_var_11"], rtol=1e-12)
    np.testing.assert_allclose(res.variance.sum(axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("file", "strata", "key"),
    [
        ("veteran_survdiff_celltype.csv", None, "veteran_celltype_chisq"),
        ("veteran_survdiff_celltype_strata.csv", "trt", "veteran_celltype_strata_trt_chisq"),
    ],
)
def test_k_groups_and_strata_match_r_survdiff(file: str, strata: str | None, key: str) -> None:
    vet = pd.read_csv(REF / "veteran.csv")
    ref = pd.read_csv(REF / file)
    res = logrank_test(
        vet["time"], vet["status"], vet["celltype"], None if strata is None else vet[strata]
    )
    assert res.statistic == pytest.approx(r_scalars()[key], rel=1e-12)
    assert res.df == 3
    # R orders groups as factor levels; ours are sorted labels: map by label
    order = [list(ref["group"]).index(g) for g in res.groups]
    np.testing.assert_allclose(res.observed, ref["observed"].to_numpy()[order])
    np.testing.assert_allclose(res.expected, ref["expected"].to_numpy()[order], rtol=1e-12)
    r_var = ref[["X1", "X2", "X3", "X4"]].to_numpy()[np.ix_(order, order)]
    np.testing.assert_allclose(res.variance, r_var, rtol=1e-11, atol=1e-12)
    assert res.strata == (None if strata is None else (1, 2))


def test_two_groups_stratified_matches_r() -> None:
    vet = pd.read_csv(REF / "veteran.csv")
    res = logrank_test(vet["time"], vet["status"], vet["trt"], strata=vet["celltype"])
    assert res.statistic == pytest.approx(
        r_scalars()["veteran_trt_strata_celltype_chisq"], rel=1e-12
    )


def random_survival(n: int, k: int, seed: int, decimals: int = 0):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, k, n)
    time = np.round(rng.exponential(30.0, n) * (1.0 + 0.2 * group), decimals)
    event = rng.random(n) < 0.65
    return time, event, group


@pytest.mark.parametrize(("k", "decimals"), [(2, 0), (2, 2), (3, 0), (4, 1)])
def test_matches_lifelines_on_random_tied_data(k: int, decimals: int) -> None:
    lifelines_stats = pytest.importorskip("lifelines.statistics")
    time, event, group = random_survival(600, k, seed=k * 10 + decimals, decimals=decimals)
    res = logrank_test(time, event, group)
    ref = lifelines_stats.multivariate_logrank_test(time, group, event)
    assert res.statistic == pytest.approx(ref.test_statistic, rel=1e-10)
    assert res.pvalue == pytest.approx(ref.p_value, rel=1e-8)
    assert res.df == k - 1


def test_stratified_matches_statsmodels_survdiff() -> None:
    from statsmodels.duration.survfunc import survdiff

    time, event, group = random_survival(900, 3, seed=5, decimals=1)
    strata = np.random.default_rng(6).integers(0, 4, time.shape[0])
    res = logrank_test(time, event, group, strata=strata)
    chisq, pvalue = survdiff(time, event.astype(float), group, strata=strata)
    assert res.statistic == pytest.approx(chisq, rel=1e-10)
    assert res.pvalue == pytest.approx(pvalue, rel=1e-8)


def test_single_stratum_equals_unstratified() -> None:
    time, event, group = random_survival(300, 2, seed=3)
    plain = logrank_test(time, event, group)
    one = logrank_test(time, event, group, strata=np.zeros(time.shape[0], dtype=int))
    assert one.statistic == pytest.approx(plain.statistic, rel=1e-14)


def test_group_never_at_risk_at_an_event_time_is_dropped_like_r() -> None:
    # Group "c" is censored at 0.5, before the first event: E_c = 0, so R's survdiff
    # drops it and the test is A vs B with df 1 - identical to leaving "c" out.
    time = [1, 2, 3, 5, 2, 4, 6, 7, 0.5, 0.5]
    event = [1, 1, 0, 1, 1, 1, 0, 1, 0, 0]
    group = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    with_c = logrank_test(time, event, group)
    without_c = logrank_test(time[:8], event[:8], group[:8])
    assert with_c.df == 1
    assert with_c.expected[2] == 0.0
    assert with_c.statistic == pytest.approx(without_c.statistic, rel=1e-14)


def test_counting_and_sorting_paths_agree() -> None:
    # same ranks, whole numbers (counted) vs scaled by 1/3 (value-sorted)
    time, event, group = random_survival(2000, 3, seed=11)
    a = logrank_test(time, event, group)
    b = logrank_test(time / 3.0, event, group)
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)


def test_extreme_dynamic_range_falls_back_and_stays_exact() -> None:
    lifelines_stats = pytest.importorskip("lifelines.statistics")
    rng = np.random.default_rng(2)
    time = 10.0 ** rng.uniform(-300, 300, 400)  # scaling would underflow: argsort fallback
    event = rng.random(400) < 0.7
    group = rng.integers(0, 2, 400)
    res = logrank_test(time, event, group)
    ref = lifelines_stats.multivariate_logrank_test(time, group, event)
    assert res.statistic == pytest.approx(ref.test_statistic, rel=1e-10)


@pytest.mark.parametrize(
    ("time", "event", "group", "message"),
    [
        ([], [], [], "time: empty input"),
        ([1, 2, 3], [1, 0, 1], ["a", "a", "a"], "at least 2 groups, found 1"),
        ([1, 2, 3], [0, 0, 0], ["a", "b", "a"], "event: no events"),
        ([1, 2, 3], [1, 0, 1], ["a", None, "b"], r"group\[1\]: must not be missing"),
        ([1, 2, 3], [1, 0, 1], ["a", "b"], "group: length 2 does not match"),
        ([0.5, 2, 3], [0, 1, 1], ["a", "b", "b"], "fewer than two groups have anyone at risk"),
    ],
)
def test_bad_input_is_refused(time, event, group, message) -> None:
    with pytest.raises(ValueError, match=message):
        logrank_test(time, event, group)


def test_strata_with_missing_label_is_refused() -> None:
    with pytest.raises(ValueError, match=r"strata\[2\]: must not be missing"):
        logrank_test([1, 2, 3, 4], [1, 1, 1, 1], [0, 1, 0, 1], strata=[1.0, 2.0, np.nan, 1.0])


# --- float64 variance at scale (scipy 1.17 overflows int64) -------------------------------


def big_tied_data(n: int = 2_000_000):
    rng = np.random.default_rng(20240607)
    group = (rng.random(n) < 0.5).astype(np.int8)
    time = np.floor(np.minimum(rng.exponential(1500.0, n), rng.uniform(0.0, 3650.0, n)))
    event = rng.random(n) < 0.7
    return time, event, group


@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return big_tied_data()


def test_two_million_tied_rows_match_lifelines(big) -> None:
    lifelines_stats = pytest.importorskip("lifelines.statistics")
    time, event, group = big
    res = logrank_test(time, event, group)
    arm = group == 0
    ref = lifelines_stats.logrank_test(time[arm], time[~arm], event[arm], event[~arm])
    assert res.statistic == pytest.approx(ref.test_statistic, rel=1e-8)
    # the int64 product scipy forms, n1 * n2 * d * (n - d), exceeds 2**63 here
    first_day = time == time.min()
    n1, n2 = int(arm.sum()), int((~arm).sum())
    d = int((first_day & event).sum())
    assert n1 * n2 * d * (n1 + n2 - d) > np.iinfo(np.int64).max


@pytest.mark.skipif(not scipy.__version__.startswith("1.17."), reason="documents scipy 1.17")
def test_scipy_1_17_logrank_is_wrong_at_two_million_tied_rows(big) -> None:
    # Why our variance is float64: scipy 1.17's stats.logrank multiplies int64
    # numbers at risk and events and silently wraps around.
    time, event, group = big
    ours = logrank_test(time, event, group).statistic
    arm = group == 0
    x = stats.CensoredData(uncensored=time[arm & event], right=time[arm & ~event])
    y = stats.CensoredData(uncensored=time[~arm & event], right=time[~arm & ~event])
    with np.errstate(all="ignore"):
        theirs = stats.logrank(x, y).statistic ** 2
    assert abs(theirs - ours) > 0.1 * ours


def test_stratum_without_events_contributes_nothing() -> None:
    time = [1, 2, 3, 4, 5, 6, 7, 8]
    event = [1, 0, 1, 1, 0, 0, 0, 0]
    group = [0, 1, 0, 1, 0, 1, 0, 1]
    strata = ["s", "s", "s", "s", "t", "t", "t", "t"]  # stratum t: all censored
    res = logrank_test(time, event, group, strata=strata)
    only_s = logrank_test(time[:4], event[:4], group[:4])
    assert res.statistic == pytest.approx(only_s.statistic, rel=1e-14)
    np.testing.assert_allclose(res.variance, only_s.variance, rtol=1e-14)
