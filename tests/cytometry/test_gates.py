"""Gates on hand-made events: boundary value, just below, just above."""

from __future__ import annotations

import numpy as np
import pytest

from saatrial.cytometry import (
    BeadGate,
    CytometryError,
    NotGate,
    PolygonGate,
    QuadrantGate,
    RangeGate,
)
from saatrial.cytometry.gates import ellipse_polygon

EPS = 1e-9


def ev1(*values: float) -> dict[str, np.ndarray]:
    return {"PE-A": np.array(values, dtype=float)}


def test_range_default_is_gatingml_low_inclusive_high_exclusive() -> None:
    g = RangeGate("r", "PE-A", 100.0, 200.0)
    x = ev1(100 - EPS, 100.0, 100 + EPS, 200 - EPS, 200.0, 200 + EPS)
    assert g.contains(x).tolist() == [False, True, True, True, False, False]


@pytest.mark.parametrize(
    ("closed", "expected"),
    [
        ("both", [False, True, True, True, False]),
        ("right", [False, False, True, True, False]),
        ("neither", [False, False, True, False, False]),
    ],
)
def test_range_closed_options(closed: str, expected: list[bool]) -> None:
    g = RangeGate("r", "PE-A", 1.0, 2.0, closed=closed)  # type: ignore[arg-type]
    assert g.contains(ev1(1 - EPS, 1.0, 1.5, 2.0, 2 + EPS)).tolist() == expected


def test_above_and_below_are_strict() -> None:
    # D19: positive = above the isotype threshold; CD127dim = below it
    x = ev1(500 - EPS, 500.0, 500 + EPS)
    assert RangeGate.above("CD25+", "PE-A", 500.0).contains(x).tolist() == [False, False, True]
    assert RangeGate.below("CD127dim", "PE-A", 500.0).contains(x).tolist() == [True, False, False]


def test_range_nan_is_outside() -> None:
    assert RangeGate.above("p", "PE-A", 0.0).contains(ev1(np.nan, 1.0)).tolist() == [False, True]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "give low, high"), ({"low": 2.0, "high": 1.0}, "low 2.0 > high 1.0"),
     ({"low": 1.0, "closed": "open"}, "closed='open' unknown")],
)
def test_range_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(CytometryError, match=message):
        RangeGate("r", "PE-A", **kwargs)


def test_polygon_square_and_outside_bounding_box() -> None:
    g = PolygonGate("sq", "x", "y", ((0, 0), (10, 0), (10, 10), (0, 10)))
    ev = {"x": np.array([5.0, 9.999, 10.001, -0.001, 5.0, 50.0, np.nan]),
          "y": np.array([5.0, 9.999, 5.0, 5.0, 10.001, 50.0, 5.0])}
    assert g.contains(ev).tolist() == [True, True, False, False, False, False, False]


def test_polygon_concave_notch() -> None:
    # L shape: the square (2..4, 2..4) is cut out
    g = PolygonGate("L", "x", "y", ((0, 0), (4, 0), (4, 2), (2, 2), (2, 4), (0, 4)))
    ev = {"x": np.array([1.0, 3.0, 1.0, 3.0, 2.1, 1.9]),
          "y": np.array([1.0, 1.0, 3.0, 3.0, 3.0, 3.0])}
    assert g.contains(ev).tolist() == [True, True, True, False, False, True]


def test_polygon_needs_three_vertices() -> None:
    with pytest.raises(CytometryError, match="needs >= 3 vertices, got 2"):
        PolygonGate("p", "x", "y", ((0, 0), (1, 1)))


def test_quadrant_divider_belongs_to_upper_side() -> None:
    ev = {"x": np.array([2.0, 2.0, 2 - EPS, 2 - EPS, 3.0]),
          "y": np.array([2.0, 2 - EPS, 2.0, 2 - EPS, 1.0])}
    masks = QuadrantGate("q", "x", "y", 2.0, 2.0).masks(ev)
    assert masks["++"].tolist() == [True, False, False, False, False]
    assert masks["+-"].tolist() == [False, True, False, False, True]
    assert masks["-+"].tolist() == [False, False, True, False, False]
    assert masks["--"].tolist() == [False, False, False, True, False]
    total = sum(m.astype(int) for m in masks.values())
    assert total.tolist() == [1] * 5  # a partition
    assert QuadrantGate("q", "x", "y", 2.0, 2.0, "+-").contains(ev).tolist() == masks["+-"].tolist()
    with pytest.raises(CytometryError, match="quadrant"):
        QuadrantGate("q", "x", "y", 0, 0, "+")  # type: ignore[arg-type]


def test_bead_gate_boundaries() -> None:
    ev = {"FITC-A": np.array([1e4 - EPS, 1e4, 5e4, 5e4]),
          "FSC-A": np.array([0.0, 0.0, 3e4, 3e4 - EPS])}
    assert BeadGate("b", "FITC-A", 1e4).contains(ev).tolist() == [False, True, True, True]
    g = BeadGate("b", "FITC-A", 1e4, "FSC-A", 3e4)
    assert g.contains(ev).tolist() == [False, True, False, True]
    assert g.channels == ("FITC-A", "FSC-A")
    with pytest.raises(CytometryError, match="both fsc_channel and fsc_max"):
        BeadGate("b", "FITC-A", 1.0, "FSC-A")


def test_not_gate_is_complement() -> None:
    ev = ev1(1.0, 5.0, 9.0)
    inner = RangeGate.above("hi", "PE-A", 4.0)
    assert NotGate("lo", inner).contains(ev).tolist() == [True, False, False]


def test_gate_results_chain_counts() -> None:
    ev = {"PE-A": np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
          "APC-A": np.array([9.0, 1.0, 9.0, 1.0, 9.0, 1.0])}
    pos = RangeGate.above("PE+", "PE-A", 2.0).apply(ev)
    assert (pos.parent, pos.n_parent, pos.n_in, pos.n_out) == (None, 6, 4, 2)
    dim = RangeGate.below("APCdim", "APC-A", 5.0).apply(ev, pos)
    assert (dim.parent, dim.n_parent, dim.n_in, dim.n_out) == ("PE+", 4, 2, 2)
    assert dim.mask.tolist() == [False, False, False, True, False, True]
    assert dim.pct_of_parent == 50.0
    s = dim.summary()
    assert s["type"] == "RangeGate" and s["channels"] == ["APC-A"]
    assert s["parameters"] == {"low": None, "high": 5.0, "closed": "neither"}
    assert (s["n_parent"], s["n_in"], s["n_out"]) == (4, 2, 2)


def test_gate_result_errors() -> None:
    pos = RangeGate.above("p", "PE-A", 0.0).apply(ev1(1.0, 2.0))
    with pytest.raises(CytometryError, match="parent 'p' has 2 events"):
        RangeGate.above("q", "PE-A", 0.0).apply(ev1(1.0), pos)
    with pytest.raises(CytometryError, match="gate channel 'APC-A' not in the events"):
        RangeGate.above("q", "APC-A", 0.0).contains(ev1(1.0))


def test_ellipse_polygon_points_on_the_ellipse() -> None:
    cov = np.array([[4.0, 1.0], [1.0, 2.0]])
    v = np.array(ellipse_polygon([10.0, -3.0], cov, 9.0, n_vertices=16))
    d = v - [10.0, -3.0]
    np.testing.assert_allclose(np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d), 9.0)
