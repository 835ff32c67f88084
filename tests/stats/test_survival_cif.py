"""Aalen-Johansen cumulative incidence: hand-worked, R survfit (mgus2), lifelines."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from saatrial.stats.survival import cumulative_incidence, kaplan_meier

REF = Path(__file__).resolve().parents[1] / "reference" / "survival"


def test_hand_worked_estimate_and_delta_variance() -> None:
    # t=1 cause 1 (Y=4), t=2 cause 2 (Y=3), t=3 censored, t=4 cause 1 (Y=1).
    # F = 1/4, 1/4, 1/4, 1/4 + S(3) * 1/1 = 1/4 + 1/2 = 3/4.
    # Delta-method variance (Marubini & Valsecchi), by hand:
    #   t=1: S^2 d_k (Y - d_k)/Y^3 = 3/64;  t=2, t=3: unchanged, 3/64;
    #   t=4: a_1 (F - F_1)^2 + a_2 (F - F_2)^2 + 3/64 - 2 c_1 (F - F_1)
    #        = (1/12)(1/4) + (1/6)(1/4) + 3/64 - 2 (1/16)(1/2) = 3/64.
    res = cumulative_incidence([1, 2, 3, 4], [1, 2, 0, 1], cause_of_interest=1)
    assert res.cif.tolist() == [0.25, 0.25, 0.25, 0.75]
    np.testing.assert_allclose(res.se, math.sqrt(3 / 64), rtol=1e-14)
    assert res.n_at_risk.tolist() == [4, 3, 2, 1]
    assert res.n_events.tolist() == [1, 0, 0, 1]
    assert res.n_competing.tolist() == [0, 1, 0, 0]
    assert res.n_censored.tolist() == [0, 0, 1, 0]
    assert res.causes == (1, 2)
    competing = cumulative_incidence([1, 2, 3, 4], [1, 2, 0, 1], cause_of_interest=2)
    assert competing.cif.tolist() == [0.0, 0.25, 0.25, 0.25]


def test_cifs_plus_survival_sum_to_one() -> None:
    rng = np.random.default_rng(4)
    time = np.round(rng.exponential(10, 300))
    cause = rng.integers(0, 3, 300)
    total = (
        cumulative_incidence(time, cause, cause_of_interest=1).cif
        + cumulative_incidence(time, cause, cause_of_interest=2).cif
        + kaplan_meier(time, cause > 0).survival
    )
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)


@pytest.mark.parametrize("cause", [1, 2])
def test_mgus2_matches_r_survfit_multistate(cause: int) -> None:
    data = pd.read_csv(REF / "mgus2_cr.csv")
    ref = pd.read_csv(REF / "mgus2_aj.csv")
    res = cumulative_incidence(data["time"], data["cause"], cause_of_interest=cause)
    np.testing.assert_array_equal(res.time, ref["time"])
    np.testing.assert_array_equal(res.n_at_risk, ref["n_risk"])
    np.testing.assert_allclose(res.cif, ref[f"cif_{cause}"], rtol=1e-12, atol=1e-15)
    # R's infinitesimal-jackknife SE coincides with the delta method here
    np.testing.assert_allclose(res.se, ref[f"se_ij_{cause}"], rtol=1e-10, atol=1e-15)


def test_matches_lifelines_aalen_johansen_on_untied_data() -> None:
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(12)
    time = rng.exponential(30.0, 500)  # continuous: lifelines would jitter ties
    cause = rng.integers(0, 3, 500)
    res = cumulative_incidence(time, cause, cause_of_interest=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = lifelines.AalenJohansenFitter(calculate_variance=True).fit(
            time, cause, event_of_interest=1
        )
    np.testing.assert_allclose(
        fitter.cumulative_density_.loc[res.time].iloc[:, 0], res.cif, rtol=1e-12, atol=1e-15
    )
    se = np.sqrt(fitter.variance_.loc[res.time].to_numpy())
    # lifelines gives NaN (0 x inf) at the last time, where the one subject at risk has
    # the event; we give the finite limit, as R does (last row of mgus2 above)
    assert np.flatnonzero(np.isnan(se)).tolist() == [res.time.shape[0] - 1]
    assert res.n_at_risk[-1] == 1 and np.isfinite(res.se[-1])
    np.testing.assert_allclose(se[:-1], res.se[:-1], rtol=1e-9, atol=1e-15)
    # lifelines labels its columns upper/lower the other way round; compare as sets
    ci = np.sort(fitter.confidence_interval_.loc[res.time].to_numpy(), axis=1)
    positive = res.cif > 0
    positive[-1] = False  # lifelines: NaN there, see above
    np.testing.assert_allclose(ci[positive, 0], res.ci_lower[positive], rtol=1e-9)
    np.testing.assert_allclose(ci[positive, 1], res.ci_upper[positive], rtol=1e-9)


def test_at_reads_the_step_function() -> None:
    res = cumulative_incidence([2, 4, 6], [1, 0, 1], cause_of_interest=1)
    assert res.at(1).estimate == 0.0 and res.at(1).se == 0.0 and res.at(1).n_at_risk == 3
    assert res.at(2).estimate == pytest.approx(1 / 3)
    assert res.at(5).estimate == pytest.approx(1 / 3)
    assert res.at(6).estimate == pytest.approx(1.0)
    assert res.at(9).n_at_risk == 0


def test_absent_cause_gives_zero_incidence() -> None:
    res = cumulative_incidence([1, 2, 3], [2, 0, 2], cause_of_interest=1)
    assert res.cif.tolist() == [0.0, 0.0, 0.0]
    assert res.ci_lower.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("cause", "kwargs", "error", "message"),
    [
        ([1, -1, 0], {"cause_of_interest": 1}, ValueError, r"cause\[1\]: must be >= 0"),
        ([1, 1.5, 0], {"cause_of_interest": 1}, ValueError, r"cause\[1\]: must be an integer"),
        ([1, 2, 0], {"cause_of_interest": 0}, ValueError, "positive cause code"),
        ([1, 2, 0], {"cause_of_interest": True}, TypeError, "must be an integer"),
        (["a", "b", "c"], {"cause_of_interest": 1}, TypeError, "integer codes"),
        ([1, 2], {"cause_of_interest": 1}, ValueError, "length 2 does not match"),
    ],
)
def test_bad_input(cause, kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        cumulative_incidence([1, 2, 3], cause, **kwargs)
