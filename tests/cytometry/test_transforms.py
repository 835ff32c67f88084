"""Logicle against Gating-ML 2.0's published values and flowutils; arcsinh by hand."""

from __future__ import annotations

import numpy as np
import pytest

from saatrial.cytometry import Arcsinh, CytometryError, Logicle
from saatrial.cytometry.transforms import transform_columns

X = [-10.0, -5.0, -1.0, 0.0, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0]

# Gating-ML 2.0 specification (ISAC, 2013), Table 8: logicle(x, T, W, M, A), 6 decimals.
GATINGML_TABLE_8 = {
    (1000, 1, 4, 0): [0.067574, 0.147986, 0.228752, 0.25, 0.256384, 0.271248, 0.312897,
                      0.432426, 0.739548, 1.0],
    (1000, 1, 4, 1): [0.254059, 0.318389, 0.383001, 0.4, 0.405107, 0.416999, 0.450318,
                      0.545941, 0.791638, 1.0],
    (1000, 0, 4, 1): [-0.200009, -0.139829, -0.000856, 0.2, 0.303776, 0.400856, 0.495521,
                      0.600009, 0.8, 1.0],
}


@pytest.mark.parametrize(("params", "expected"), list(GATINGML_TABLE_8.items()))
def test_logicle_gatingml_table_8(params: tuple[float, ...], expected: list[float]) -> None:
    t, w, m, a = params
    got = Logicle(t=t, w=w, m=m, a=a).apply(X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=5e-7)


@pytest.mark.parametrize(
    "params", [*GATINGML_TABLE_8, (262144, 0.5, 4.5, 0), (262144, 1.5, 4.5, 0.5)]
)
def test_logicle_matches_flowutils(params: tuple[float, ...]) -> None:
    """flowutils wraps Moore & Parks' C reference code (as FlowKit uses it)."""
    fu = pytest.importorskip("flowutils")
    t, w, m, a = params
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 3 * t / 1000, 5000),
                        np.exp(rng.uniform(-5, np.log(100 * t), 5000))])  # up to 100 T
    ref = fu.transforms.logicle(x.copy(), None, t=t, m=m, w=w, a=a)
    np.testing.assert_allclose(Logicle(t, w, m, a).apply(x), ref, rtol=0, atol=1e-12)
    y = np.linspace(-0.2, 1.1, 101)
    ref_inv = fu.transforms.logicle_inverse(y.copy(), None, t=t, m=m, w=w, a=a)
    np.testing.assert_allclose(Logicle(t, w, m, a).inverse(y), ref_inv, rtol=1e-12, atol=1e-9)


def test_logicle_invariants() -> None:
    lg = Logicle(t=262144, w=0.5, m=4.5, a=0)
    assert lg.zero == pytest.approx(0.5 / 4.5)  # (W + A) / (M + A)
    assert float(lg.apply(0.0)) == pytest.approx(0.5 / 4.5, abs=1e-15)
    assert float(lg.apply(262144.0)) == pytest.approx(1.0, abs=1e-14)
    # log-like at the top: one decade is about 1/(M + A) of the scale
    assert float(lg.apply(262144.0) - lg.apply(26214.4)) == pytest.approx(1 / 4.5, rel=3e-3)
    # odd symmetry about zero, monotone, exact inverse
    x = np.linspace(-5000, 5000, 2001)
    y = lg.apply(x)
    np.testing.assert_allclose(y + lg.apply(-x), 2 * lg.zero, atol=1e-14)
    assert np.all(np.diff(y) > 0)
    np.testing.assert_allclose(lg.inverse(y), x, rtol=1e-12, atol=1e-9)


def test_logicle_shapes_and_non_finite() -> None:
    lg = Logicle()
    out = lg.apply(np.array([[1.0, np.nan], [np.inf, -np.inf]]))
    assert out.shape == (2, 2) and np.isnan(out[0, 1])
    assert out[1, 0] == np.inf and out[1, 1] == -np.inf
    assert lg.apply(5.0).shape == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"t": 0}, "T must be > 0"),
        ({"m": 0}, "M must be > 0"),
        ({"w": 3.0}, "W must be in"),
        ({"a": -1.0}, "A must be in"),
        ({"w": 1.0, "a": 3.0}, "A must be in"),
    ],
)
def test_logicle_parameter_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(CytometryError, match=message):
        Logicle(**kwargs)


def test_arcsinh_hand_values() -> None:
    tr = Arcsinh(cofactor=150)
    # asinh(1) = ln(1 + sqrt 2) = 0.881373587..., asinh(0) = 0, odd
    np.testing.assert_allclose(tr.apply([150.0, 0.0, -150.0]),
                               [np.log(1 + np.sqrt(2)), 0.0, -np.log(1 + np.sqrt(2))], rtol=1e-15)
    np.testing.assert_allclose(tr.inverse(tr.apply([-7.0, 3e5])), [-7.0, 3e5], rtol=1e-12)
    with pytest.raises(CytometryError, match="cofactor must be > 0"):
        Arcsinh(0)


def test_transform_columns_only_touches_given_columns() -> None:
    ev = np.array([[1.0, 150.0, 2.0]])
    out = transform_columns(ev, {1: Arcsinh(150)})
    assert out[0, 0] == 1.0 and out[0, 2] == 2.0
    assert out[0, 1] == pytest.approx(np.log(1 + np.sqrt(2)))
    assert ev[0, 1] == 150.0
