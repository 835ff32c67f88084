"""One PNG per sample with every gate of the Treg analysis drawn on density plots.

The figure (matplotlib, Agg canvas, no pyplot state, so it is safe in worker
processes) has three rows:

1. stained tube: FSC-A/SSC-A of all events with the lymphocyte polygon;
   bead detector vs SSC-A with the TruCount bead gate; CD4 histogram of the
   lymphocytes with the CD4 threshold;
2. isotype tube: the same three plots with that tube's own gates;
3. CD25 vs CD127 of the CD4+ lymphocytes, stained and isotype side by side
   on the same axes, with the isotype 99.5th-percentile thresholds (D19)
   drawn in both; event counts and % of CD4+ in every quadrant, the Treg
   quadrant (CD25+ CD127dim) outlined; and a text panel with the results,
   inputs, thresholds and warnings.

Densities are 2-D histograms (``imshow`` of :func:`numpy.histogram2d`, log
colour scale, empty bins white). Fluorescence axes are on the analysis'
logicle scale with ticks at 0, 10^2 ... 10^5 data units; events beyond the
axis range are piled on its edge so that none disappears from view.
Scatter axes are linear (K = 1000).

References
----------
.. [1] Parks DR, Roederer M, Moore WA. Cytometry A 2006;69A:541-551 (logicle display).
.. [2] Maecker HT, Trotter J. Flow cytometry controls, instrument setup, and the
   determination of positivity. Cytometry A 2006;69A:1037-1042 (isotype controls).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from saatrial.cytometry.errors import CytometryError
from saatrial.cytometry.gates import GateResult, PolygonGate
from saatrial.cytometry.transforms import Logicle

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from saatrial.cytometry.fcs import FcsSample
    from saatrial.cytometry.treg import TregResult

#: Bins per axis of the density plots.
DENSITY_BINS = 192
#: Colour map of the density plots (blue = few, red = many events, as in FlowJo pseudocolour).
DENSITY_CMAP = "turbo"
GATE_COLOUR = "black"
GATE_LW = 1.8
BEAD_COLOUR = "#e000e0"
POSITIVE_SHADE = "0.5"
_SCATTER_TOP = 262144.0
_LABEL_BOX = {"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.6", "alpha": 0.9}


def _decade_ticks(scale: Logicle) -> tuple[list[float], list[str], list[float]]:
    """Major tick positions/labels at 0 and powers of ten, minor ticks at 2..9 x 10^k."""
    major_data = [0.0] + [10.0**k for k in range(2, 7) if 10.0**k <= scale.t]
    sup = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077"
                        "\u2078\u2079")
    # unicode superscripts: mathtext labels would cost a third of the drawing time
    labels = ["0"] + [f"10{str(k).translate(sup)}" for k in range(2, 2 + len(major_data) - 1)]
    minor_data = [m * 10.0**k for k in range(1, 6) for m in range(2, 10) if m * 10.0**k <= scale.t]
    minor_data += [-m * 10.0**k for k in range(1, 3) for m in (1, 2, 5)]
    major = [float(v) for v in scale.apply(major_data)]
    minor = [float(v) for v in scale.apply(minor_data)]
    return major, labels, minor


def _fluor_axis(ax: Axes, scale: Logicle, which: str, label: str) -> None:
    major, labels, minor = _decade_ticks(scale)
    inside = [m for m in minor if 0 <= m <= 1]
    # minor ticks as one line collection: matplotlib Tick objects cost ~3 ms each and
    # ~40 per logicle axis would double the drawing time
    if which == "x":
        ax.set_xlim(0.0, 1.0)
        ax.set_xticks(major, labels)
        ax.vlines(inside, 0.0, 0.015, transform=ax.get_xaxis_transform(), colors="black",
                  lw=0.6, zorder=6)
        ax.set_xlabel(label)
    else:
        ax.set_ylim(0.0, 1.0)
        ax.set_yticks(major, labels)
        ax.hlines(inside, 0.0, 0.015, transform=ax.get_yaxis_transform(), colors="black",
                  lw=0.6, zorder=6)
        ax.set_ylabel(label)


def _scatter_axis(ax: Axes, which: str, label: str) -> None:
    ticks = [0, 50_000, 100_000, 150_000, 200_000, 250_000]
    names = ["0", "50K", "100K", "150K", "200K", "250K"]
    if which == "x":
        ax.set_xlim(0, _SCATTER_TOP)
        ax.set_xticks(ticks, names)
        ax.set_xlabel(label)
    else:
        ax.set_ylim(0, _SCATTER_TOP)
        ax.set_yticks(ticks, names)
        ax.set_ylabel(label)


def _density(
    ax: Axes, x: np.ndarray, y: np.ndarray, xlim: tuple[float, float],
    ylim: tuple[float, float],
) -> None:
    """2-D histogram with a log colour scale; values outside the limits go to the edge bins."""
    from matplotlib.colors import LogNorm

    xs = np.clip(x, xlim[0], np.nextafter(xlim[1], -np.inf))
    ys = np.clip(y, ylim[0], np.nextafter(ylim[1], -np.inf))
    hist, _, _ = np.histogram2d(xs, ys, bins=DENSITY_BINS, range=[xlim, ylim])
    if hist.max() <= 0:
        ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center")
        return
    masked = np.ma.masked_less(hist.T, 1)
    ax.imshow(
        masked, origin="lower", extent=(*xlim, *ylim), aspect="auto", cmap=DENSITY_CMAP,
        norm=LogNorm(vmin=1, vmax=max(float(hist.max()), 2.0)), interpolation="nearest",
    )


def _label(ax: Axes, x: float, y: float, text: str, ha: str = "left", va: str = "top",
           bold: bool = False) -> None:
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=8.5,
            fontweight="bold" if bold else "normal", bbox=_LABEL_BOX, zorder=5)


def _pct(n: int, of: int) -> str:
    return f"{100.0 * n / of:.1f}%" if of else "n/a"


def _channel_label(sample: FcsSample, pnn: str) -> str:
    return sample.channel(pnn).label


def _gate(gates: Sequence[GateResult], name: str) -> GateResult:
    for g in gates:
        if g.name == name:
            return g
    raise CytometryError(f"plot: gate {name!r} missing from the result")


def _scatter_panel(
    ax: Axes, sample: FcsSample, gates: Sequence[GateResult], fsc: str, ssc: str, title: str,
) -> None:
    x, y = sample.column(fsc), sample.column(ssc)
    cells = _gate(gates, "cells")
    beads = _gate(gates, "beads")
    _density(ax, x[cells.mask], y[cells.mask], (0.0, _SCATTER_TOP), (0.0, _SCATTER_TOP))
    if beads.n_in:  # beads (gated on the bead detector) shown where they sit on scatter
        idx = np.flatnonzero(beads.mask)[:3000]
        ax.scatter(x[idx], y[idx], s=2, color=BEAD_COLOUR, alpha=0.5, lw=0, zorder=3)
    lymph = _gate(gates, "lymphocytes")
    if isinstance(lymph.gate, PolygonGate):
        v = np.array((*lymph.gate.vertices, lymph.gate.vertices[0]))
        ax.plot(v[:, 0], v[:, 1], color=GATE_COLOUR, lw=GATE_LW, zorder=4)
        ax.text(float(v[:, 0].max()) + 4_000, float(v[:, 1].mean()), "Lymphocytes", fontsize=8.5,
                va="center", fontweight="bold", zorder=5)
    _scatter_axis(ax, "x", fsc)
    _scatter_axis(ax, "y", ssc)
    _label(ax, 0.02, 0.98,
           f"Lymphocytes (black gate): {lymph.n_in:,}\n"
           f"= {_pct(lymph.n_in, cells.n_in)} of {cells.n_in:,} non-bead events", bold=True)
    _label(ax, 0.98, 0.98, f"all events: {sample.n_events:,}\n"
           f"beads (magenta): {beads.n_in:,}", ha="right")
    ax.set_title(title, fontsize=10, loc="left")


def _bead_panel(
    ax: Axes, sample: FcsSample, gates: Sequence[GateResult], bead: str, ssc: str,
    scale: Logicle, title: str,
) -> None:
    x = scale.apply(sample.column(bead))
    y = sample.column(ssc)
    _density(ax, x, y, (0.0, 1.0), (0.0, _SCATTER_TOP))
    beads = _gate(gates, "beads")
    bead_min = float(beads.gate.parameters()["bead_min"])
    _fluor_axis(ax, scale, "x", f"{_channel_label(sample, bead)} - TruCount bead detector")
    _scatter_axis(ax, "y", ssc)
    if np.isfinite(bead_min):
        xt = float(scale.apply([bead_min])[0])
        ax.axvline(xt, color=GATE_COLOUR, lw=GATE_LW)
        ax.axvspan(xt, 1.0, color=POSITIVE_SHADE, alpha=0.08)
        _label(ax, 0.98, 0.98, f"Beads: {beads.n_in:,}\n{bead} >= {bead_min:,.0f}", ha="right",
               bold=True)
    else:
        _label(ax, 0.98, 0.98, "no bead population found", ha="right", bold=True)
    _label(ax, 0.02, 0.98, f"non-bead events: {_gate(gates, 'cells').n_in:,}")
    ax.set_title(title, fontsize=10, loc="left")


def _cd4_panel(
    ax: Axes, sample: FcsSample, gates: Sequence[GateResult], cd4: str, threshold: float,
    scale: Logicle, title: str,
) -> None:
    lymph = _gate(gates, "lymphocytes")
    pos = _gate(gates, "CD4+")
    values = np.clip(scale.apply(sample.column(cd4)[lymph.mask]), 0.0, 1.0)
    counts, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    ax.stairs(counts, edges, fill=True, color="0.55", alpha=0.8)
    ax.stairs(counts, edges, color="0.2", lw=0.6)
    xt = float(scale.apply([threshold])[0])
    ax.axvline(xt, color=GATE_COLOUR, lw=GATE_LW)
    ax.axvspan(xt, 1.0, color=POSITIVE_SHADE, alpha=0.08)
    _fluor_axis(ax, scale, "x", _channel_label(sample, cd4))
    ax.set_ylabel("lymphocyte events per bin")
    ax.set_ylim(0, max(float(counts.max()), 1.0) * 1.3)
    neg = lymph.n_in - pos.n_in
    _label(ax, 0.98, 0.98, f"CD4+: {pos.n_in:,}\n({_pct(pos.n_in, lymph.n_in)} of lymphocytes)",
           ha="right", bold=True)
    _label(ax, 0.02, 0.98, f"CD4-: {neg:,}\nthreshold {threshold:,.0f}")
    ax.set_title(title, fontsize=10, loc="left")


def _quadrant_panel(
    ax: Axes, sample: FcsSample, cd4_mask: np.ndarray, x_ch: str, y_ch: str,
    x_thr: float, y_thr: float, scale: Logicle, title: str, treg_label: str,
    x_marker: str = "CD25", y_marker: str = "CD127",
) -> None:
    xv = sample.column(x_ch)[cd4_mask]
    yv = sample.column(y_ch)[cd4_mask]
    _density(ax, scale.apply(xv), scale.apply(yv), (0.0, 1.0), (0.0, 1.0))
    xt, yt = (float(v) for v in scale.apply([x_thr, y_thr]))
    ax.axvline(xt, color=GATE_COLOUR, lw=1.0, ls="--")
    ax.axhline(yt, color=GATE_COLOUR, lw=1.0, ls="--")
    # the Treg quadrant: CD25 > threshold (strict) and CD127 < threshold (D19)
    ax.plot([xt, 0.999, 0.999, xt, xt], [0.001, 0.001, yt, yt, 0.001], color=GATE_COLOUR,
            lw=2.4, zorder=4)
    n = int(cd4_mask.sum())
    xp, yp = xv > x_thr, yv < y_thr
    q = {
        "upper left": int((~xp & ~yp).sum()),
        "upper right": int((xp & ~yp).sum()),
        "lower left": int((~xp & yp).sum()),
        "lower right": int((xp & yp).sum()),
    }
    xm, ym = x_marker, y_marker
    _label(ax, 0.02, 0.98, f"{xm}- {ym}+\n{q['upper left']:,} ({_pct(q['upper left'], n)})")
    _label(ax, 0.98, 0.98, f"{xm}+ {ym}+\n{q['upper right']:,} ({_pct(q['upper right'], n)})",
           ha="right")
    _label(ax, 0.02, 0.02, f"{xm}- {ym}dim\n{q['lower left']:,} ({_pct(q['lower left'], n)})",
           va="bottom")
    _label(ax, 0.98, 0.02,
           f"{treg_label}\n{q['lower right']:,} = {_pct(q['lower right'], n)} of CD4+",
           ha="right", va="bottom", bold=True)
    _fluor_axis(ax, scale, "x", _channel_label(sample, x_ch))
    _fluor_axis(ax, scale, "y", _channel_label(sample, y_ch))
    ax.set_title(f"{title}\nCD4+ lymphocytes: {n:,}", fontsize=10, loc="left")


def _compensation_text(sample: FcsSample) -> str:
    sp = sample.compensated_with
    return "not compensated" if sp is None else f"compensated ({sp.source}, {sp.size} channels)"


def _summary_text(
    result: TregResult, label: str, stained: FcsSample, isotype: FcsSample,
) -> tuple[str, str]:
    thr = result.thresholds
    pct = result.parameters.isotype_percentile
    lines = [
        label,
        f"stained: {Path(result.stained_path).name}",
        f"isotype: {Path(result.isotype_path).name}",
        "",
        f"Treg % of CD4+     {result.treg_pct_of_cd4:.2f} %",
        f"CD4+ cells/uL      {result.cd4_per_ul:,.0f}",
        f"Treg cells/uL      {result.treg_per_ul:,.1f}",
        "",
        f"lymphocyte events  {_gate(result.gates, 'lymphocytes').n_in:,}",
        f"CD4+ events        {result.cd4_events:,}",
        f"Treg events        {result.treg_events:,}",
        f"bead events        {result.bead_events:,}",
        f"beads per tube     {result.beads_per_tube:,}",
        f"blood volume       {result.blood_volume_ul:g} uL",
        "cells/uL = events / bead events",
        "           x beads per tube / volume",
        "",
        "thresholds (compensated data units)",
        f"  CD4   {thr.cd4:,.0f} (isotype tube {thr.cd4_isotype:,.0f}),",
        "        density valley of lymphocytes",
        f"  CD25  {thr.cd25:,.0f}   isotype CD4+ {pct:g}th pct",
        f"  CD127 {thr.cd127:,.0f}   isotype CD4+ {pct:g}th pct",
        "  Treg = CD4+, CD25 > CD25 thr, CD127 < CD127 thr",
        "",
        f"stained tube {_compensation_text(stained)}",
        f"isotype tube {_compensation_text(isotype)}",
    ]
    warn: list[str] = []
    if result.warnings:
        warn = ["WARNINGS"]
        for w in result.warnings:
            warn += _wrap(f"- {w}", 52)
    return "\n".join(lines), "\n".join(warn)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, subsequent_indent="  ") or [text]


def treg_figure(
    result: TregResult, stained: FcsSample, isotype: FcsSample, *, label: str = "",
):  # -> matplotlib.figure.Figure
    """The gating figure of one Treg analysis (see the module notes for the layout).

    Parameters
    ----------
    result : TregResult
        The analysis.
    stained, isotype : FcsSample
        The two tubes exactly as analysed (compensated if the analysis was).
    label : str
        Sample label for the title (e.g. ``"S01 2014-03-02"``).

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot; save with ``fig.savefig`` or :func:`plot_treg`.
    """
    from matplotlib.figure import Figure

    for sample, gates, tube in ((stained, result.gates, "stained"),
                                (isotype, result.isotype_gates, "isotype")):
        if gates and gates[0].mask.size != sample.n_events:
            raise CytometryError(
                f"plot: the {tube} sample {sample.path} has {sample.n_events} events but the "
                f"result's gates cover {gates[0].mask.size}; pass the samples that were analysed"
            )
    scale = result.parameters.valley_transform
    ch = result.channels
    fig = Figure(figsize=(16.5, 15.0), dpi=100)
    # fixed margins: constrained layout would double the drawing time
    axes = fig.subplots(3, 3, gridspec_kw={"left": 0.055, "right": 0.985, "bottom": 0.045,
                                           "top": 0.925, "wspace": 0.2, "hspace": 0.32})
    name = label or Path(result.stained_path).name
    fig.suptitle(
        f"Treg panel - {name}:  Treg {result.treg_pct_of_cd4:.2f} % of CD4+   |   "
        f"CD4+ {result.cd4_per_ul:,.0f} /uL   |   Treg {result.treg_per_ul:,.1f} /uL",
        fontsize=13, fontweight="bold",
    )
    thr = result.thresholds
    for row, (sample, gates, cd4_thr, tube) in enumerate(
        (
            (stained, result.gates, thr.cd4, "Stained tube (CD4 / CD25 / CD127)"),
            (isotype, result.isotype_gates, thr.cd4_isotype, "Isotype tube (CD4 / IgG1 / IgG1)"),
        )
    ):
        fname = Path(sample.path).name
        _scatter_panel(axes[row, 0], sample, gates, ch.fsc, ch.ssc,
                       f"{tube}\n{fname}: lymphocyte gate")
        _bead_panel(axes[row, 1], sample, gates, ch.bead, ch.ssc, scale,
                    f"{tube}\nTruCount beads")
        _cd4_panel(axes[row, 2], sample, gates, ch.markers["CD4"], cd4_thr, scale,
                   f"{tube}\nCD4 on lymphocytes")
    cd25, cd127 = ch.markers["CD25"], ch.markers["CD127"]
    _quadrant_panel(axes[2, 0], stained, _gate(result.gates, "CD4+").mask, cd25, cd127,
                    thr.cd25, thr.cd127, scale, "Stained tube: CD25 vs CD127",
                    "Treg (CD25+ CD127dim)")
    _quadrant_panel(axes[2, 1], isotype, _gate(result.isotype_gates, "CD4+").mask, cd25, cd127,
                    thr.cd25, thr.cd127, scale,
                    f"Isotype tube: thresholds = {result.parameters.isotype_percentile:g}th "
                    "percentile", "isotype events in Treg gate", x_marker="PE",
                    y_marker="APC")
    ax = axes[2, 2]
    ax.axis("off")
    text, warn = _summary_text(result, name, stained, isotype)
    ax.text(0.0, 1.0, text, transform=ax.transAxes, ha="left", va="top", family="monospace",
            fontsize=9)
    if warn:
        ax.text(0.0, 0.0, warn, transform=ax.transAxes, ha="left", va="bottom",
                family="monospace", fontsize=8.5, color="#b00020")
    return fig


def plot_treg(
    result: TregResult, stained: FcsSample, isotype: FcsSample,
    path: str | os.PathLike[str], *, label: str = "", dpi: int = 100,
) -> Path:
    """Write the gating figure as a PNG (temporary file in the same folder, then rename).

    Examples
    --------
    >>> import tempfile
    >>> from saatrial.cytometry import analyze_treg, read_fcs
    >>> from saatrial.cytometry.synthetic import SyntheticSpec, write_synthetic_pair
    >>> d = Path(tempfile.mkdtemp())
    >>> pair = write_synthetic_pair(d, SyntheticSpec(seed=3, n_lymphocytes=5000, n_debris=500,
    ...                             n_granulocytes=3000, n_monocytes=600, bead_events=1500))
    >>> s, i = read_fcs(pair.stained_path).compensate(), read_fcs(pair.isotype_path).compensate()
    >>> r = analyze_treg(s, i, beads_per_tube=50_000, blood_volume_ul=50)
    >>> png = plot_treg(r, s, i, d / "S03.png", label="S03")
    >>> png.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from saatrial.atomic import write_file_atomic

    fig = treg_figure(result, stained, isotype, label=label)
    FigureCanvasAgg(fig)

    def write(tmp: Path) -> None:
        fig.savefig(tmp, dpi=dpi, format="png")

    return write_file_atomic(Path(path), write, overwrite=True)
