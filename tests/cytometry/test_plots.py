"""The per-sample gating figure: every gate drawn where the analysis put it, counts labelled."""

from __future__ import annotations

import dataclasses
import doctest
from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import CytometryError, Logicle, SyntheticSpec, analyze_treg, read_fcs
from saatrial.cytometry import plots as plots_module
from saatrial.cytometry.batch import load_pair
from saatrial.cytometry.plots import _decade_ticks, plot_treg, treg_figure
from saatrial.cytometry.synthetic import write_synthetic_pair

SMALL = {"n_lymphocytes": 8_000, "n_monocytes": 1_200, "n_granulocytes": 6_000,
         "n_debris": 1_600, "bead_events": 2_000}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("plots")
    pair = write_synthetic_pair(folder, SyntheticSpec(seed=8, treg_fraction=0.09, **SMALL), "P8")
    s, i = load_pair(pair.stained_path, pair.isotype_path)
    return analyze_treg(s, i, beads_per_tube=48_000, blood_volume_ul=50), s, i


@pytest.fixture(scope="module")
def figure(analysed):
    r, s, i = analysed
    return treg_figure(r, s, i, label="P8 2014-03-02")


def _texts(ax) -> str:
    return "\n".join(t.get_text() for t in ax.texts)


def test_decade_ticks_are_logicle_values_of_powers_of_ten() -> None:
    scale = Logicle()
    major, labels, minor = _decade_ticks(scale)
    assert labels == ["0", "10²", "10³", "10⁴", "10⁵"]
    assert major == pytest.approx(scale.apply([0.0, 1e2, 1e3, 1e4, 1e5]).tolist(), abs=0)
    assert scale.apply([200.0])[0] in minor and scale.apply([-100.0])[0] in minor


def test_lymphocyte_polygon_is_drawn_with_its_count(figure, analysed) -> None:
    r, _, _ = analysed
    lymph = r.gate("lymphocytes")
    ax = figure.axes[0]
    closed = np.array((*lymph.gate.vertices, lymph.gate.vertices[0]))
    assert any(np.array_equal(np.column_stack(line.get_data()), closed) for line in ax.lines)
    cells = r.gate("cells")
    assert f"Lymphocytes (black gate): {lymph.n_in:,}" in _texts(ax)
    pct = 100 * lymph.n_in / cells.n_in
    assert f"= {pct:.1f}% of {cells.n_in:,} non-bead events" in _texts(ax)


def test_bead_and_cd4_thresholds_at_their_logicle_positions(figure, analysed) -> None:
    r, _, _ = analysed
    scale = r.parameters.valley_transform
    bead_ax, cd4_ax = figure.axes[1], figure.axes[2]
    bead_min = r.gate("beads").gate.bead_min
    assert [ln.get_xdata()[0] for ln in bead_ax.lines] == [pytest.approx(
        float(scale.apply([bead_min])[0]), abs=1e-12)]
    assert f"Beads: {r.bead_events:,}" in _texts(bead_ax)
    assert [ln.get_xdata()[0] for ln in cd4_ax.lines] == [pytest.approx(
        float(scale.apply([r.thresholds.cd4])[0]), abs=1e-12)]
    assert f"CD4+: {r.cd4_events:,}" in _texts(cd4_ax)
    # the isotype row uses the isotype tube's own CD4 threshold
    assert [ln.get_xdata()[0] for ln in figure.axes[5].lines] == [pytest.approx(
        float(scale.apply([r.thresholds.cd4_isotype])[0]), abs=1e-12)]


def test_treg_quadrant_counts_equal_the_result(figure, analysed) -> None:
    r, _, i = analysed
    stained_ax, iso_ax = figure.axes[6], figure.axes[7]
    pct = 100 * r.treg_events / r.cd4_events
    assert f"{r.treg_events:,} = {pct:.1f}% of CD4+" in _texts(stained_ax)
    assert "Treg (CD25+ CD127dim)" in _texts(stained_ax)
    # isotype events above the CD25 and below the CD127 threshold, counted independently
    cd4 = r.gate("CD4+", "isotype").mask
    pe, apc = i.column("PE-A")[cd4], i.column("APC-A")[cd4]
    n_iso = int(((pe > r.thresholds.cd25) & (apc < r.thresholds.cd127)).sum())
    assert f"{n_iso:,} = " in _texts(iso_ax)
    # the four stained quadrants add up to the CD4+ events
    counts = [int(t.get_text().split("\n")[1].split(" ")[0].replace(",", ""))
              for t in stained_ax.texts]
    assert sum(counts) == r.cd4_events
    # both panels share the thresholds (dashed lines at the same place)
    for ax in (stained_ax, iso_ax):
        dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
        xs = {round(float(ln.get_xdata()[0]), 12) for ln in dashed}
        assert round(float(Logicle().apply([r.thresholds.cd25])[0]), 12) in xs


def test_summary_panel_states_results_inputs_and_warnings(analysed) -> None:
    r, s, i = analysed
    warned = dataclasses.replace(r, warnings=("stained tube: only 900 bead events",))
    fig = treg_figure(warned, s, i, label="P8")
    text = _texts(fig.axes[8])
    assert f"Treg % of CD4+     {r.treg_pct_of_cd4:.2f} %" in text
    assert "beads per tube     48,000" in text and "blood volume       50 uL" in text
    assert "WARNINGS" in text and "only 900 bead events" in text
    assert "compensated ($SPILLOVER, 4 channels)" in text


def test_png_is_written_whole(analysed, tmp_path: Path) -> None:
    import matplotlib.image

    r, s, i = analysed
    png = plot_treg(r, s, i, tmp_path / "p.png", label="P8")
    img = matplotlib.image.imread(png)
    assert img.shape[:2] == (1500, 1650)
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary file left


def test_samples_must_be_the_ones_analysed(analysed, tmp_path: Path) -> None:
    r, s, _ = analysed
    other = write_synthetic_pair(tmp_path, SyntheticSpec(seed=9, n_lymphocytes=3_000,
                                                         n_granulocytes=2_000, n_debris=500,
                                                         n_monocytes=500, bead_events=600))
    with pytest.raises(CytometryError, match="pass the samples that were analysed"):
        treg_figure(r, s, read_fcs(other.isotype_path))


def test_module_examples() -> None:
    result = doctest.testmod(plots_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
