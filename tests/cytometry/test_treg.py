"""Treg panel (TRIAL.md section 8, D19) on synthetic samples with known truth."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import (
    CytometryError,
    Spillover,
    SyntheticSpec,
    TregParameters,
    analyze_treg,
    load_panel,
    read_fcs,
    write_fcs,
    write_synthetic_pair,
)
from saatrial.cytometry.synthetic import FLUORESCENCE, TREG_SPILLOVER

# Done-when (issue 6): Treg % of CD4 within 1 percentage point, absolute counts within 5 %,
# across Treg fractions 2-15 % and bead counts 10k-60k, with and without spillover. "Bead
# counts" are covered both ways: bead events acquired and beads per tube each span 10k-60k.
TREG_FRACTIONS = [0.02, 0.05, 0.10, 0.15]
BEADS = [(10_000, 60_000), (35_000, 10_000), (60_000, 35_000)]  # (bead events, beads per tube)


@pytest.mark.parametrize("spill", [True, False], ids=["spillover", "no-spillover"])
@pytest.mark.parametrize(("bead_events", "beads_per_tube"), BEADS)
@pytest.mark.parametrize("treg_fraction", TREG_FRACTIONS)
def test_recovers_truth(
    tmp_path: Path, treg_fraction: float, bead_events: int, beads_per_tube: int, spill: bool
) -> None:
    seed = int(treg_fraction * 1000) + bead_events // 1000 + (7 if spill else 0)
    spec = SyntheticSpec(
        seed=seed, treg_fraction=treg_fraction, bead_events=bead_events,
        beads_per_tube=beads_per_tube, blood_volume_ul=50.0,
        spillover=TREG_SPILLOVER if spill else None,
    )
    pair = write_synthetic_pair(tmp_path, spec)
    truth = pair.stained
    r = analyze_treg(pair.stained_path, pair.isotype_path, beads_per_tube=beads_per_tube,
                     blood_volume_ul=50.0)
    assert abs(r.treg_pct_of_cd4 - truth.treg_pct_of_cd4) < 1.0
    assert r.cd4_per_ul == pytest.approx(truth.cd4_per_ul, rel=0.05)
    assert r.treg_per_ul == pytest.approx(truth.treg_per_ul, rel=0.05)
    assert abs(r.bead_events - truth.n_beads) <= 0.001 * truth.n_beads
    assert ("no spillover matrix" in " ".join(r.warnings)) is (not spill)


STRONG_PE_INTO_APC = Spillover.from_matrix(
    FLUORESCENCE,
    [[1, 0.22, 0.03, 0], [0.01, 1, 0.25, 0.15], [0, 0, 1, 0.10], [0, 0, 0.02, 1]],
)


@pytest.fixture(scope="module")
def strong_pair(tmp_path_factory: pytest.TempPathFactory):
    spec = SyntheticSpec(seed=11, treg_fraction=0.08, spillover=STRONG_PE_INTO_APC)
    return write_synthetic_pair(tmp_path_factory.mktemp("strong"), spec)


def test_compensation_is_needed_to_recover_truth(strong_pair) -> None:
    """15 % of bright CD25-PE seen in the CD127-APC detector makes Tregs look CD127+."""
    truth = strong_pair.stained.treg_pct_of_cd4
    ok = analyze_treg(strong_pair.stained_path, strong_pair.isotype_path,
                      beads_per_tube=50_000, blood_volume_ul=50)
    assert abs(ok.treg_pct_of_cd4 - truth) < 1.0
    raw = analyze_treg(strong_pair.stained_path, strong_pair.isotype_path,
                       beads_per_tube=50_000, blood_volume_ul=50,
                       parameters=TregParameters(compensate=False))
    assert truth - raw.treg_pct_of_cd4 > 2.0
    assert any("without compensation" in w for w in raw.warnings)


def test_user_matrix_overrides_file(strong_pair) -> None:
    truth = strong_pair.stained.treg_pct_of_cd4
    wrong = Spillover.from_matrix(FLUORESCENCE, np.eye(4))
    bad = analyze_treg(strong_pair.stained_path, strong_pair.isotype_path, beads_per_tube=50_000,
                       blood_volume_ul=50, spillover=wrong)
    assert truth - bad.treg_pct_of_cd4 > 2.0
    good = analyze_treg(strong_pair.stained_path, strong_pair.isotype_path, beads_per_tube=50_000,
                        blood_volume_ul=50, spillover=STRONG_PE_INTO_APC)
    assert abs(good.treg_pct_of_cd4 - truth) < 1.0


@pytest.fixture(scope="module")
def result(synthetic_pair):
    return analyze_treg(synthetic_pair.stained_path, synthetic_pair.isotype_path,
                        beads_per_tube=50_000, blood_volume_ul=50)


def test_d19_thresholds_and_treg_rule_recomputed(synthetic_pair, result) -> None:
    """Recompute D19 from the result's CD4+ masks and the compensated events."""
    iso = read_fcs(synthetic_pair.isotype_path).compensate()
    st = read_fcs(synthetic_pair.stained_path).compensate()
    iso_cd4 = result.gate("CD4+", "isotype").mask
    assert result.thresholds.cd25 == np.percentile(iso.column("PE-A")[iso_cd4], 99.5)
    assert result.thresholds.cd127 == np.percentile(iso.column("APC-A")[iso_cd4], 99.5)
    cd4 = result.gate("CD4+").mask
    treg = (cd4 & (st.column("PE-A") > result.thresholds.cd25)
            & (st.column("APC-A") < result.thresholds.cd127))
    assert result.treg_events == int(treg.sum())
    np.testing.assert_array_equal(result.gate("Treg").mask, treg)
    # about 0.5 % of isotype CD4+ events lie above each threshold
    assert (iso.column("PE-A")[iso_cd4] > result.thresholds.cd25).mean() == pytest.approx(0.005,
                                                                                          abs=5e-4)


def test_trucount_formula_by_hand(synthetic_pair, result) -> None:
    # cells/uL = cell events / bead events x beads per tube / blood volume
    assert result.cd4_per_ul == pytest.approx(result.cd4_events / result.bead_events * 50_000 / 50)
    assert result.treg_per_ul == pytest.approx(
        result.treg_events / result.bead_events * 50_000 / 50
    )
    doubled = analyze_treg(synthetic_pair.stained_path, synthetic_pair.isotype_path,
                           beads_per_tube=50_000, blood_volume_ul=100)
    assert doubled.cd4_per_ul == pytest.approx(result.cd4_per_ul / 2)
    assert doubled.treg_pct_of_cd4 == result.treg_pct_of_cd4


def test_gate_tree_is_kept(result) -> None:
    names = [(g.name, g.parent) for g in result.gates]
    assert names == [("beads", None), ("cells", None), ("lymphocytes", "cells"),
                     ("CD4+", "lymphocytes"), ("CD25+", "CD4+"), ("Treg", "CD25+")]
    assert [g.name for g in result.isotype_gates] == ["beads", "cells", "lymphocytes", "CD4+"]
    for parent, child in zip(result.gates[2:], result.gates[3:], strict=False):
        assert child.n_parent == parent.n_in
    assert result.gate("CD4+").n_in == result.cd4_events
    assert result.gate("beads").n_in == result.bead_events
    assert result.gate("CD25+").gate.low == result.thresholds.cd25
    assert result.gate("Treg").gate.high == result.thresholds.cd127


def test_to_dict_is_json(result) -> None:
    d = json.loads(json.dumps(result.to_dict()))
    for key in ("treg_pct_of_cd4", "cd4_per_ul", "treg_per_ul", "bead_events", "thresholds",
                "gates", "parameters", "warnings", "channels"):
        assert key in d
    assert set(d["thresholds"]) == {"cd4", "cd4_isotype", "cd25", "cd127"}
    assert d["parameters"]["isotype_percentile"] == 99.5
    assert d["channels"]["markers"] == {"CD4": "PerCP-Cy5-5-A", "CD25": "PE-A", "CD127": "APC-A"}
    assert d["gates"][-1]["n_in"] == result.treg_events


def test_percentile_parameter(synthetic_pair, result) -> None:
    r99 = analyze_treg(synthetic_pair.stained_path, synthetic_pair.isotype_path,
                       beads_per_tube=50_000, blood_volume_ul=50,
                       parameters=TregParameters(isotype_percentile=99.0))
    assert r99.thresholds.cd25 < result.thresholds.cd25
    assert r99.thresholds.cd127 < result.thresholds.cd127


def test_panel_file_and_samples_in_memory(synthetic_pair, result) -> None:
    r = analyze_treg(read_fcs(synthetic_pair.stained_path), read_fcs(synthetic_pair.isotype_path),
                     beads_per_tube=50_000, blood_volume_ul=50,
                     panel=load_panel("treg-facscanto-ii"))
    assert r.treg_events == result.treg_events and r.cd4_events == result.cd4_events
    assert "panel treg-facscanto-ii" in r.channels.how["CD4"]


def test_fixed_cd4_threshold(synthetic_pair) -> None:
    r = analyze_treg(synthetic_pair.stained_path, synthetic_pair.isotype_path,
                     beads_per_tube=50_000, blood_volume_ul=50,
                     parameters=TregParameters(cd4_threshold=2000.0))
    assert r.thresholds.cd4 == 2000.0 and r.thresholds.cd4_isotype == 2000.0
    assert r.cd4_valleys == (None, None)
    assert abs(r.treg_pct_of_cd4 - synthetic_pair.stained.treg_pct_of_cd4) < 1.0


def test_zero_beads_is_an_error(tmp_path: Path) -> None:
    pair = write_synthetic_pair(tmp_path, SyntheticSpec(seed=21, bead_events=0), "nobeads")
    with pytest.raises(CytometryError) as info:
        analyze_treg(pair.stained_path, pair.isotype_path, beads_per_tube=50_000)
    msg = str(info.value)
    assert "nobeads_stained.fcs" in msg and "bead" in msg and "FITC-A" in msg


def test_few_beads_warns(tmp_path: Path) -> None:
    pair = write_synthetic_pair(tmp_path, SyntheticSpec(seed=22, bead_events=300), "few")
    r = analyze_treg(pair.stained_path, pair.isotype_path, beads_per_tube=50_000)
    assert r.bead_events == 300
    assert any("only 300 bead events" in w for w in r.warnings)


def test_missing_marker_names_marker_and_channels(tmp_path: Path, synthetic_pair) -> None:
    s = read_fcs(synthetic_pair.stained_path)
    pns = ["", "", "", "", "CD25 PE", "CD4 PerCP-Cy5.5", "", ""]  # APC-A lost its CD127 label
    p = write_fcs(tmp_path / "nolabel.fcs", s.events, s.pnn, pns=pns)
    with pytest.raises(CytometryError) as info:
        analyze_treg(p, synthetic_pair.isotype_path, beads_per_tube=50_000)
    msg = str(info.value)
    assert "nolabel.fcs" in msg and "'CD127' not found" in msg and "PE-A (CD25 PE)" in msg


def test_isotype_missing_channel(tmp_path: Path, synthetic_pair) -> None:
    iso = read_fcs(synthetic_pair.isotype_path)
    keep = [i for i, n in enumerate(iso.pnn) if n != "APC-A"]
    p = write_fcs(tmp_path / "iso7.fcs", iso.events[:, keep], [iso.pnn[i] for i in keep],
                  pns=[iso.pns[i] for i in keep])
    with pytest.raises(CytometryError, match=r"iso7\.fcs: isotype tube lacks channel 'APC-A' "
                                             r"\(CD127 in the stained tube\)"):
        analyze_treg(synthetic_pair.stained_path, p, beads_per_tube=50_000)


@pytest.mark.parametrize("beads", [0, -5, 1.5, True, "50000"])
def test_bad_beads_per_tube(synthetic_pair, beads: object) -> None:
    with pytest.raises(CytometryError, match="beads_per_tube must be a positive integer"):
        analyze_treg(synthetic_pair.stained_path, synthetic_pair.isotype_path,
                     beads_per_tube=beads)  # type: ignore[arg-type]


@pytest.mark.parametrize("volume", [0, -1.0, float("nan")])
def test_bad_volume(synthetic_pair, volume: float) -> None:
    with pytest.raises(CytometryError, match="blood_volume_ul must be a positive number"):
        analyze_treg(synthetic_pair.stained_path, synthetic_pair.isotype_path,
                     beads_per_tube=50_000, blood_volume_ul=volume)


def test_parameter_validation() -> None:
    with pytest.raises(CytometryError, match="isotype_percentile 100"):
        TregParameters(isotype_percentile=100)
    with pytest.raises(CytometryError, match="lymphocyte_coverage"):
        TregParameters(lymphocyte_coverage=1.0)


def test_different_spillover_in_tubes_warns(tmp_path: Path) -> None:
    other = Spillover.from_matrix(FLUORESCENCE, np.eye(4) + 0.01 * (1 - np.eye(4)))
    spec = SyntheticSpec(seed=23)
    st = write_synthetic_pair(tmp_path, spec, "a").stained_path
    iso = write_synthetic_pair(tmp_path, dataclasses.replace(spec, spillover=other), "b")
    r = analyze_treg(st, iso.isotype_path, beads_per_tube=50_000)
    assert any("different spillover" in w for w in r.warnings)


def test_isotype_cd4_label_checked(tmp_path: Path, synthetic_pair) -> None:
    iso = read_fcs(synthetic_pair.isotype_path)
    pns = list(iso.pns)
    pns[iso.channel("PerCP-Cy5-5-A").index] = "CD45 PerCP-Cy5.5"  # not CD4
    p = write_fcs(tmp_path / "iso45.fcs", iso.events, iso.pnn, pns=pns,
                  spillover=iso.spillover)
    r = analyze_treg(synthetic_pair.stained_path, p, beads_per_tube=50_000)
    assert any("'CD45 PerCP-Cy5.5', not CD4" in w for w in r.warnings)
