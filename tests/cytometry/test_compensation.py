"""Compensation: hand-worked 2x2 case, label handling, errors, flowutils as reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import CytometryError, Spillover, compensate, parse_spillover, read_fcs


def test_hand_worked_two_colours() -> None:
    # FL1 spills 20 % into FL2, FL2 spills 10 % into FL1. True (FL1, FL2) = (100, 50):
    # observed FL1 = 100 + 0.1 * 50 = 105, observed FL2 = 0.2 * 100 + 50 = 70.
    s = Spillover.from_matrix(["FL1", "FL2"], [[1.0, 0.2], [0.1, 1.0]])
    observed = np.array([[7.0, 105.0, 70.0]])  # FSC, FL1, FL2
    out = compensate(observed, ["FSC", "FL1", "FL2"], s)
    np.testing.assert_allclose(out, [[7.0, 100.0, 50.0]], rtol=1e-14)
    assert observed[0, 1] == 105.0  # input untouched


def test_label_order_differs_from_columns() -> None:
    s = Spillover.from_matrix(["FL2", "FL1"], [[1.0, 0.1], [0.2, 1.0]])  # same physics, reordered
    out = compensate(np.array([[105.0, 70.0]]), ["FL1", "FL2"], s)
    np.testing.assert_allclose(out, [[100.0, 50.0]], rtol=1e-14)


def test_labels_matched_by_pns_when_pnn_does_not_match() -> None:
    s = Spillover.from_matrix(["CD4", "CD8"], [[1.0, 0.2], [0.1, 1.0]])
    out = compensate(np.array([[105.0, 70.0]]), ["FL1-A", "FL2-A"], s, pns=["CD4", "CD8"])
    np.testing.assert_allclose(out, [[100.0, 50.0]], rtol=1e-14)


def test_unknown_label_names_labels_and_channels() -> None:
    s = Spillover.from_matrix(["FL1", "FL9"], np.eye(2))
    with pytest.raises(CytometryError, match=r"labels \['FL9'\] match no channel.*'FL1', 'FL2'"):
        compensate(np.zeros((1, 2)), ["FL1", "FL2"], s)


def test_singular_matrix() -> None:
    s = Spillover.from_matrix(["FL1", "FL2"], [[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(CytometryError, match="singular"):
        compensate(np.zeros((1, 2)), ["FL1", "FL2"], s)


@pytest.mark.parametrize(
    ("labels", "matrix", "message"),
    [
        (["A", "B"], np.eye(3), "shape"),
        (["A", "A"], np.eye(2), "duplicate"),
        (["A", "B"], [[1.0, np.nan], [0.0, 1.0]], "non-finite"),
    ],
)
def test_bad_matrix(labels: list[str], matrix: object, message: str) -> None:
    with pytest.raises(CytometryError, match=message):
        Spillover.from_matrix(labels, matrix)  # type: ignore[arg-type]


def test_events_shape_mismatch() -> None:
    with pytest.raises(CytometryError, match="3 channel names"):
        compensate(np.zeros((4, 2)), ["A", "B", "C"], Spillover.from_matrix(["A"], [[1.0]]))


def test_parse_spillover_formats() -> None:
    s, notes = parse_spillover({"spillover": " 2, FL1-A, FL2-A, 1, 0.5, 0, 1 "})
    assert s is not None and s.source == "$SPILLOVER" and s.labels == ("FL1-A", "FL2-A")
    assert s.matrix.tolist() == [[1.0, 0.5], [0.0, 1.0]] and notes == ()
    # $SPILLOVER wins over SPILL
    s, _ = parse_spillover({"spill": "1,X,1", "spillover": "1,Y,1"})
    assert s is not None and s.labels == ("Y",)
    # an unlabelled $COMP is ambiguous: ignored, with a note
    s, notes = parse_spillover({"comp": "2,1,0.1,0,1"})
    assert s is None and "without channel labels" in notes[0]
    # malformed SPILL is noted, a later well-formed keyword still used
    s, notes = parse_spillover({"spill": "3,A,B,1,0", "comp": "1,A,1"})
    assert s is not None and s.source == "$COMP" and "expected 1 + 3 labels" in notes[0]
    assert parse_spillover({}) == (None, ())


def test_to_keyword_round_trip() -> None:
    s = Spillover.from_matrix(["A-A", "B-A"], [[1.0, 1 / 3], [0.1, 1.0]])
    back, _ = parse_spillover({"spillover": s.to_keyword()})
    assert back is not None and back.labels == s.labels
    np.testing.assert_array_equal(back.matrix, s.matrix)


def test_against_flowutils_on_real_file(fcs_dir: Path) -> None:
    """flowutils (FlowKit's compensation) on the Accuri file's own $SPILLOVER."""
    fu = pytest.importorskip("flowutils")
    s = read_fcs(fcs_dir / "B01_KC-A-W---91-US.fcs")
    assert s.spillover is not None
    idx = [s.pnn.index(label) for label in s.spillover.labels]
    ref = fu.compensate.compensate(s.events.copy(), s.spillover.matrix.copy(), idx)
    np.testing.assert_allclose(s.compensate().events, ref, rtol=1e-10, atol=1e-8)


def test_sample_compensate_twice_refused(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "100715.fcs").compensate()
    assert s.compensated_with is not None
    with pytest.raises(CytometryError, match="already compensated"):
        s.compensate()


def test_other_channels_exact_and_non_finite_values() -> None:
    s = Spillover.from_matrix(["FL1", "FL2"], [[1.0, 0.2], [0.1, 1.0]])
    ev = np.array([[0.1 + 0.2, 105.0, 70.0, 1e-300], [7.0, 105.0, 70.0, -3.3]])
    out = compensate(ev, ["FSC", "FL1", "FL2", "Time"], s)
    np.testing.assert_array_equal(out[:, [0, 3]], ev[:, [0, 3]])  # bit for bit
    np.testing.assert_allclose(out[:, 1:3], [[100.0, 50.0]] * 2, rtol=1e-14)
    ev[0, 0] = np.inf  # an infinite scatter value stays where it is
    out = compensate(ev, ["FSC", "FL1", "FL2", "Time"], s)
    assert out[0, 0] == np.inf and np.isfinite(out[:, 1:]).all()
    np.testing.assert_allclose(out[:, 1:3], [[100.0, 50.0]] * 2, rtol=1e-14)
