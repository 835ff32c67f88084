"""Automatic gates against known populations (synthetic truth) and hand-made distributions."""

from __future__ import annotations

import numpy as np
import pytest

from saatrial.cytometry import (
    GatingError,
    NotGate,
    auto_bead_gate,
    auto_lymphocyte_gate,
    read_fcs,
    valley_threshold,
)
from saatrial.cytometry.synthetic import POPULATIONS


def _bimodal(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.lognormal(np.log(100), 0.3, 5000),
                           rng.lognormal(np.log(10_000), 0.3, 3000)])


def test_valley_between_two_modes() -> None:
    x = _bimodal()
    v = valley_threshold(x)
    # the modes are 2 decades apart; the valley sits between them
    assert 300 < v.threshold < 3000
    assert 60 < v.lower_mode < 160 and 6000 < v.upper_mode < 16000
    assert (x > v.threshold).sum() == 3000  # no event of either mode misclassified
    assert len(v.peaks_scale) == 2 and "density valley" in v.method


def test_valley_is_deterministic() -> None:
    assert valley_threshold(_bimodal(1)) == valley_threshold(_bimodal(1))


def test_valley_brightest_picks_top_pair() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.lognormal(np.log(100), 0.2, 6000),
                        rng.lognormal(np.log(2000), 0.2, 6000),
                        rng.lognormal(np.log(60_000), 0.05, 1000)])
    v = valley_threshold(x, pick="brightest", min_peak_fraction=0.01)
    assert 3000 < v.threshold < 50_000 and (x > v.threshold).sum() == 1000
    v2 = valley_threshold(x, pick="two_highest")
    assert v2.threshold < 2000  # the two tallest modes are the cell modes


def test_valley_errors() -> None:
    rng = np.random.default_rng(3)
    with pytest.raises(GatingError, match="only 1 mode"):
        valley_threshold(rng.lognormal(np.log(500), 0.3, 5000))
    with pytest.raises(GatingError, match=">= 20 events, got 5"):
        valley_threshold(np.arange(5.0))
    with pytest.raises(GatingError, match="closer than"):
        valley_threshold(_bimodal(), min_separation=0.9)


@pytest.fixture(scope="module")
def stained(synthetic_pair):
    s = read_fcs(synthetic_pair.stained_path).compensate()
    return s, synthetic_pair.stained.population


def test_bead_gate_finds_exactly_the_beads(stained) -> None:
    s, pop = stained
    gate, valley = auto_bead_gate(s, "FITC-A")
    is_bead = pop == POPULATIONS.index("bead")
    np.testing.assert_array_equal(gate.contains(s), is_bead)
    assert valley.upper_mode > 10 * valley.threshold / 10  # the bead mode is above the threshold


def test_bead_gate_refuses_a_file_without_beads() -> None:
    rng = np.random.default_rng(4)
    ev = {"FITC-A": rng.normal(150, 60, 20_000)}
    with pytest.raises(GatingError, match="no TruCount bead population found in FITC-A"):
        auto_bead_gate(ev, "FITC-A")


def test_lymphocyte_gate_against_truth(stained) -> None:
    s, pop = stained
    beads, _ = auto_bead_gate(s, "FITC-A")
    cells = NotGate("cells", beads).apply(s)
    fit = auto_lymphocyte_gate(s, "FSC-A", "SSC-A", fsc_min=26_214.4, within=cells.mask)
    inside = fit.gate.contains(s)
    lymph = np.isin(pop, [POPULATIONS.index(n) for n in
                          ("lymphocyte_cd4neg", "cd4_conventional", "cd4_activated", "treg")])
    share = inside[lymph].mean()
    assert 0.99 <= share <= 1.0  # the gate is built to hold 99.5 % of a normal cluster
    for other, limit in (("monocyte", 0.005), ("granulocyte", 0.0), ("debris", 0.01)):
        assert inside[pop == POPULATIONS.index(other)].mean() <= limit, other
    # centre close to the generating mean (55k, 12k)
    assert abs(fit.center[0] - 55_000) < 500 and abs(fit.center[1] - 12_000) < 300
    assert len(fit.gate.vertices) == 64 and fit.coverage == 0.995


def test_lymphocyte_gate_deterministic(stained) -> None:
    s, _ = stained
    a = auto_lymphocyte_gate(s, fsc_min=26_214.4)
    b = auto_lymphocyte_gate(s, fsc_min=26_214.4)
    assert a.gate.vertices == b.gate.vertices


def test_lymphocyte_gate_too_few_events() -> None:
    ev = {"FSC-A": np.ones(50), "SSC-A": np.ones(50)}
    with pytest.raises(GatingError, match=">= 100 events on FSC-A/SSC-A, got 50"):
        auto_lymphocyte_gate(ev)
