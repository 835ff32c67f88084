"""Synthetic FCS generator: truth by hand from the spec, files readable, spillover applied."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import CytometryError, SyntheticSpec, read_fcs, write_synthetic_fcs
from saatrial.cytometry.synthetic import POPULATIONS, SYNTHETIC_PNN, TREG_SPILLOVER


def test_truth_worked_by_hand(tmp_path: Path) -> None:
    spec = SyntheticSpec(seed=1)  # defaults: 40,000 lymphocytes, 45 % CD4, 6 % Treg, 10,000 beads
    t = write_synthetic_fcs(tmp_path / "a.fcs", spec)
    assert t.n_cd4 == 18_000  # 40,000 x 0.45
    assert t.n_treg == 1_080  # 18,000 x 0.06
    assert t.n_activated == 1_354  # round(16,920 x 0.08)
    assert t.n_beads == 10_000
    assert t.n_events == 8_000 + 10_000 + 40_000 + 6_000 + 30_000
    assert t.treg_pct_of_cd4 == pytest.approx(6.0)
    # TruCount: 18,000 / 10,000 x 50,000 beads / 50 uL = 1,800 /uL; Tregs 108 /uL
    assert t.cd4_per_ul == pytest.approx(1800.0)
    assert t.treg_per_ul == pytest.approx(108.0)
    counts = np.bincount(t.population, minlength=len(POPULATIONS))
    assert counts[POPULATIONS.index("treg")] == 1_080
    assert counts[POPULATIONS.index("bead")] == 10_000
    assert counts.sum() == t.n_events


def test_file_reads_with_flowio_and_ours(tmp_path: Path) -> None:
    flowio = pytest.importorskip("flowio")
    t = write_synthetic_fcs(tmp_path / "b.fcs", SyntheticSpec(seed=2, n_lymphocytes=5000))
    fd = flowio.FlowData(t.path)
    assert fd.version == "3.1" and fd.text["datatype"] == "F" and fd.text["byteord"] == "1,2,3,4"
    assert tuple(fd.pnn_labels) == SYNTHETIC_PNN
    assert fd.pns_labels[4:7] == ["CD25 PE", "CD4 PerCP-Cy5.5", "CD127 APC"]
    s = read_fcs(t.path)
    np.testing.assert_array_equal(s.events, fd.as_array())
    assert s.n_events == t.n_events and s.pnn == SYNTHETIC_PNN
    assert s.spillover is not None and s.spillover.source == "$SPILLOVER"
    np.testing.assert_allclose(s.spillover.matrix, TREG_SPILLOVER.matrix)
    assert s.channel("Time").kind == "time" and s.metadata["timestep"] == "0.01"


def test_isotype_tube_and_no_spillover(tmp_path: Path) -> None:
    spec = SyntheticSpec(seed=3, tube="isotype", spillover=None, n_lymphocytes=5000)
    t = write_synthetic_fcs(tmp_path / "iso.fcs", spec)
    s = read_fcs(t.path)
    assert s.pns[4:7] == ("IgG1 PE", "CD4 PerCP-Cy5.5", "IgG1 APC")
    assert s.spillover is None
    treg = t.population == POPULATIONS.index("treg")
    # no CD25 stain in the isotype tube: Tregs sit at background on PE
    assert np.median(s.column("PE-A")[treg]) < 400


def test_deterministic_bytes(tmp_path: Path) -> None:
    spec = SyntheticSpec(seed=4, n_lymphocytes=3000, n_granulocytes=1000)
    a = write_synthetic_fcs(tmp_path / "a.fcs", spec)
    b = write_synthetic_fcs(tmp_path / "b.fcs", spec)
    c = write_synthetic_fcs(tmp_path / "c.fcs", dataclasses.replace(spec, seed=5))

    def data(p: Path) -> bytes:  # DATA segment only ($FIL differs)
        return p.read_bytes()[-a.n_events * 8 * 4 :]

    assert data(a.path) == data(b.path)
    assert data(a.path) != data(c.path)


def test_spillover_is_applied_and_compensation_undoes_it(tmp_path: Path) -> None:
    base = SyntheticSpec(seed=6, n_lymphocytes=20_000)
    spilled = write_synthetic_fcs(tmp_path / "s.fcs", base)
    clean = write_synthetic_fcs(tmp_path / "c.fcs", dataclasses.replace(base, spillover=None))
    treg = spilled.population == POPULATIONS.index("treg")  # same seed: same events
    np.testing.assert_array_equal(treg, clean.population == POPULATIONS.index("treg"))
    raw = read_fcs(spilled.path)
    comp = raw.compensate()
    ref = read_fcs(clean.path)
    pe, percp = ref.column("PE-A")[treg], ref.column("PerCP-Cy5-5-A")[treg]
    # uncompensated PerCP-Cy5.5 carries 25 % of the PE (CD25) signal
    expected = np.median(percp + 0.25 * pe)
    assert np.median(raw.column("PerCP-Cy5-5-A")[treg]) == pytest.approx(expected, rel=0.02)
    comp_percp = comp.column("PerCP-Cy5-5-A")[treg]
    assert np.median(comp_percp) == pytest.approx(np.median(percp), rel=0.02)
    assert np.median(comp.column("PE-A")[treg]) == pytest.approx(np.median(pe), rel=0.02)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tube": "other"}, "tube 'other'"),
        ({"treg_fraction": 1.5}, "treg_fraction 1.5"),
        ({"bead_events": -1}, "bead_events < 0"),
        ({"beads_per_tube": 0}, "must be > 0"),
    ],
)
def test_spec_errors(changes: dict, message: str) -> None:
    with pytest.raises(CytometryError, match=message):
        SyntheticSpec(**changes)
