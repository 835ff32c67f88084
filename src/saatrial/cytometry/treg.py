"""The trial's Treg panel: CD4+CD25+CD127dim cells as % of CD4+ and per uL (TruCount).

TRIAL.md section 8 and decision D19. Two TruCount tubes per sample: the
stained tube (CD4-PerCP-Cy5.5, CD25-PE, CD127-APC) and the isotype tube
(CD4-PerCP-Cy5.5, IgG1-PE, IgG1-APC). In each tube, after compensation:

1. ``beads``: TruCount beads, the brightest mode of an unstained detector
   (:func:`~saatrial.cytometry.autogate.auto_bead_gate`);
2. ``cells``: all events that are not beads;
3. ``lymphocytes``: automatic FSC-A/SSC-A gate on the cells
   (:func:`~saatrial.cytometry.autogate.auto_lymphocyte_gate`);
4. ``CD4+``: CD4 above the density valley between CD4- and CD4+
   lymphocytes (or a fixed ``cd4_threshold``).

The isotype tube's CD4+ lymphocytes give the thresholds: CD25 and CD127 at
their 99.5th percentile (``isotype_percentile``; numpy's default linear
interpolation, R's type 7). In the stained tube:

5. ``CD25+``: CD4+ with CD25 > CD25 threshold;
6. ``Treg``: CD25+ with CD127 < CD127 threshold ("CD127dim").

Treg % of CD4 = Treg events / CD4+ events x 100; absolute counts from the
stained tube's beads: cells/uL = cell events / bead events x beads per tube /
blood volume (uL). Every gate, threshold and event count is kept in the
:class:`TregResult`.

Caveat for absolute counts: the paper washes the TruCount tubes three times
after lysis; TruCount counting assumes lyse/no-wash (washing loses cells and
beads unequally), so cells/uL from washed tubes are biased. Treg % is not.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from saatrial.cytometry.autogate import (
    LymphocyteGateFit,
    ValleyThreshold,
    auto_bead_gate,
    auto_lymphocyte_gate,
    valley_threshold,
)
from saatrial.cytometry.compensation import Spillover
from saatrial.cytometry.errors import CytometryError, GatingError
from saatrial.cytometry.fcs import FcsSample, read_fcs
from saatrial.cytometry.gates import BeadGate, GateResult, NotGate, RangeGate
from saatrial.cytometry.panel import ChannelMap, Panel, names_marker, resolve_channels
from saatrial.cytometry.transforms import Logicle


@dataclass(frozen=True)
class TregParameters:
    """Analysis parameters (all recorded with the result).

    Parameters
    ----------
    isotype_percentile : float, default 99.5
        Percentile of the isotype tube's CD4+ lymphocytes that sets the CD25
        and CD127 thresholds (D19).
    cd4_threshold : float or None
        Fixed CD4 threshold (compensated linear units); None = density valley
        between CD4- and CD4+ lymphocytes, per tube.
    compensate : bool, default True
        Compensate with the file's spillover matrix (or the one given to
        :func:`analyze_treg`).
    lymphocyte_coverage : float, default 0.995
        Share of the fitted lymphocyte cluster inside the lymphocyte gate.
    debris_fsc_fraction : float, default 0.10
        Events below this fraction of the FSC channel range ($PnR) are
        ignored when looking for the lymphocyte cluster.
    valley_transform : Logicle
        Scale on which the CD4 and bead valleys are sought.
    warn_bead_events : int, default 1000
        Fewer stained-tube bead events give a warning (count precision).
    warn_isotype_cd4_events : int, default 1000
        Fewer isotype CD4+ events give a warning (the 99.5th percentile then
        rests on fewer than 5 events).
    """

    isotype_percentile: float = 99.5  # D19
    cd4_threshold: float | None = None
    compensate: bool = True
    lymphocyte_coverage: float = 0.995
    debris_fsc_fraction: float = 0.10
    valley_transform: Logicle = field(default_factory=Logicle)
    warn_bead_events: int = 1000
    warn_isotype_cd4_events: int = 1000

    def __post_init__(self) -> None:
        if not 50.0 <= self.isotype_percentile < 100.0:
            raise CytometryError(
                f"isotype_percentile {self.isotype_percentile} not in [50, 100)"
            )
        if not 0.5 <= self.lymphocyte_coverage < 1.0:
            raise CytometryError(f"lymphocyte_coverage {self.lymphocyte_coverage} not in [0.5, 1)")
        if not 0.0 <= self.debris_fsc_fraction < 1.0:
            raise CytometryError(f"debris_fsc_fraction {self.debris_fsc_fraction} not in [0, 1)")


@dataclass(frozen=True)
class TregThresholds:
    """Thresholds used (compensated linear units).

    Parameters
    ----------
    cd4 : float
        CD4 threshold in the stained tube.
    cd4_isotype : float
        CD4 threshold in the isotype tube.
    cd25 : float
        CD25 threshold: isotype CD4+ percentile on the CD25 (PE) channel.
    cd127 : float
        CD127 threshold: isotype CD4+ percentile on the CD127 (APC) channel.
    """

    cd4: float
    cd4_isotype: float
    cd25: float
    cd127: float

    def as_dict(self) -> dict[str, float]:
        """``{"cd4": ..., "cd4_isotype": ..., "cd25": ..., "cd127": ...}``."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class TregResult:
    """Treg panel result of one sample.

    Parameters
    ----------
    treg_pct_of_cd4 : float
        Treg events / CD4+ events x 100 (stained tube).
    cd4_events, treg_events, bead_events : int
        Stained-tube event counts.
    cd4_per_ul, treg_per_ul : float
        Cells per uL blood: events / bead events x beads per tube / blood volume.
    thresholds : TregThresholds
        CD4 (both tubes), CD25 and CD127 thresholds.
    gates : tuple of GateResult
        Stained tube: beads, cells, lymphocytes, CD4+, CD25+, Treg.
    isotype_gates : tuple of GateResult
        Isotype tube: beads, cells, lymphocytes, CD4+.
    parameters : TregParameters
        Parameters used.
    warnings : tuple of str
        Things a reviewer should look at (few beads, no compensation, ...).
    beads_per_tube : int
        TruCount lot bead count entered.
    blood_volume_ul : float
        Blood volume in the stained tube entered, uL.
    channels : ChannelMap
        Channels used and how they were found.
    stained_path, isotype_path : str
        Files analysed.
    lymphocyte_fits : tuple of LymphocyteGateFit
        Stained and isotype lymphocyte gate fits.
    cd4_valleys : tuple of ValleyThreshold or None
        How the CD4 thresholds were found (None when fixed).
    """

    treg_pct_of_cd4: float
    cd4_events: int
    treg_events: int
    bead_events: int
    cd4_per_ul: float
    treg_per_ul: float
    thresholds: TregThresholds
    gates: tuple[GateResult, ...] = field(repr=False)
    isotype_gates: tuple[GateResult, ...] = field(repr=False)
    parameters: TregParameters = field(repr=False)
    warnings: tuple[str, ...]
    beads_per_tube: int
    blood_volume_ul: float
    channels: ChannelMap = field(repr=False)
    stained_path: str
    isotype_path: str
    lymphocyte_fits: tuple[LymphocyteGateFit, ...] = field(repr=False, default=())
    cd4_valleys: tuple[ValleyThreshold | None, ...] = field(repr=False, default=())

    def gate(self, name: str, tube: str = "stained") -> GateResult:
        """The gate result called ``name`` in the ``"stained"`` or ``"isotype"`` tube."""
        for g in self.gates if tube == "stained" else self.isotype_gates:
            if g.name == name:
                return g
        raise KeyError(f"no gate {name!r} in the {tube} tube")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: results, thresholds, channels, gates with counts, parameters."""
        params = asdict(self.parameters)
        params["valley_transform"] = asdict(self.parameters.valley_transform)
        return {
            "stained": self.stained_path,
            "isotype": self.isotype_path,
            "treg_pct_of_cd4": self.treg_pct_of_cd4,
            "cd4_per_ul": self.cd4_per_ul,
            "treg_per_ul": self.treg_per_ul,
            "cd4_events": self.cd4_events,
            "treg_events": self.treg_events,
            "bead_events": self.bead_events,
            "beads_per_tube": self.beads_per_tube,
            "blood_volume_ul": self.blood_volume_ul,
            "thresholds": self.thresholds.as_dict(),
            "channels": {
                "fsc": self.channels.fsc,
                "ssc": self.channels.ssc,
                "beads": self.channels.bead,
                "markers": dict(self.channels.markers),
                "how": dict(self.channels.how),
            },
            "gates": [g.summary() for g in self.gates],
            "isotype_gates": [g.summary() for g in self.isotype_gates],
            "parameters": params,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, eq=False)
class _TubeGates:
    sample: FcsSample
    beads: GateResult
    cells: GateResult
    lymphocytes: GateResult
    cd4: GateResult
    cd4_threshold: float
    cd4_valley: ValleyThreshold | None
    lymphocyte_fit: LymphocyteGateFit


def _load(sample: FcsSample | str | os.PathLike[str]) -> FcsSample:
    return sample if isinstance(sample, FcsSample) else read_fcs(sample)


def _compensated(
    sample: FcsSample, params: TregParameters, spillover: Spillover | None, warn: list[str],
    tube: str,
) -> FcsSample:
    if not params.compensate:
        warn.append(f"{tube} tube analysed without compensation (compensate=False)")
        return sample
    if sample.compensated_with is not None:
        return sample
    matrix = spillover if spillover is not None else sample.spillover
    if matrix is None:
        warn.append(
            f"{tube} tube: no spillover matrix in {sample.path.name}; analysed uncompensated"
        )
        return sample
    return sample.compensate(matrix)


def _gate_tube(
    sample: FcsSample, cmap: ChannelMap, params: TregParameters, tube: str, warn: list[str],
    require_beads: bool,
) -> _TubeGates:
    try:
        bead_gate, _ = auto_bead_gate(sample, cmap.bead, transform=params.valley_transform)
        beads = bead_gate.apply(sample)
    except GatingError as exc:
        if require_beads:
            raise GatingError(f"{sample.path}: {exc}; TruCount counts need bead events") from None
        warn.append(f"{tube} tube: {exc}; no events removed as beads")
        beads = BeadGate("beads", cmap.bead, math.inf).apply(sample)
    if require_beads and beads.n_in == 0:
        raise GatingError(f"{sample.path}: zero bead events in {cmap.bead}; cannot count cells/uL")
    cells = NotGate("cells", beads.gate).apply(sample)  # type: ignore[arg-type]
    fsc_range = sample.channel(cmap.fsc).range
    try:
        fit = auto_lymphocyte_gate(
            sample, cmap.fsc, cmap.ssc,
            fsc_min=params.debris_fsc_fraction * fsc_range,
            coverage=params.lymphocyte_coverage,
            within=cells.mask,
        )
    except GatingError as exc:
        raise GatingError(f"{sample.path}: {exc}") from None
    lymph = fit.gate.apply(sample, cells)
    cd4_values = sample.column(cmap.markers["CD4"])[lymph.mask]
    valley: ValleyThreshold | None = None
    if params.cd4_threshold is not None:
        cd4_thr = float(params.cd4_threshold)
    else:
        try:
            valley = valley_threshold(cd4_values, params.valley_transform, pick="two_highest")
        except GatingError as exc:
            raise GatingError(
                f"{sample.path}: CD4 threshold on {cmap.markers['CD4']}: {exc}"
            ) from None
        cd4_thr = valley.threshold
    cd4 = RangeGate.above("CD4+", cmap.markers["CD4"], cd4_thr).apply(sample, lymph)
    if cd4.n_in == 0:
        raise GatingError(f"{sample.path} ({tube} tube): no CD4+ lymphocytes")
    return _TubeGates(sample, beads, cells, lymph, cd4, cd4_thr, valley, fit)


def analyze_treg(
    stained: FcsSample | str | os.PathLike[str],
    isotype: FcsSample | str | os.PathLike[str],
    *,
    beads_per_tube: int,
    blood_volume_ul: float = 100.0,
    panel: Panel | None = None,
    parameters: TregParameters | None = None,
    spillover: Spillover | None = None,
) -> TregResult:
    """Treg % of CD4+ and absolute CD4+ and Treg counts for one sample.

    Parameters
    ----------
    stained, isotype : FcsSample or path
        The stained (CD4/CD25/CD127) and isotype (CD4/IgG1/IgG1) TruCount tubes.
    beads_per_tube : int
        Beads per TruCount tube, the lot number printed on the pouch.
    blood_volume_ul : float, default 100
        Blood volume in the **stained** tube, uL. TRIAL.md section 8 writes
        100 uL; the paper splits 100 uL EDTA blood into two tubes, so check
        what went into each tube (50 uL if split evenly).
    panel : Panel, optional
        Marker -> channel mapping; default finds CD4, CD25, CD127 in the
        stained tube's ``$PnS`` (the isotype tube uses the same ``$PnN``).
    parameters : TregParameters, optional
        Analysis parameters (default :class:`TregParameters`).
    spillover : Spillover, optional
        Matrix for both tubes instead of the files' own.

    Returns
    -------
    TregResult

    Raises
    ------
    FcsError
        A file cannot be read (message names the file).
    CytometryError
        A marker or channel is missing (names it and the channels found), bad
        inputs, no beads / zero bead events in the stained tube, no CD4+ cells,
        or populations that cannot be separated.

    Examples
    --------
    >>> import tempfile
    >>> from saatrial.cytometry.synthetic import SyntheticSpec, write_synthetic_pair
    >>> pair = write_synthetic_pair(tempfile.mkdtemp(), SyntheticSpec(seed=3, treg_fraction=0.08))
    >>> r = analyze_treg(pair.stained_path, pair.isotype_path, beads_per_tube=50_000,
    ...                  blood_volume_ul=50)
    >>> abs(r.treg_pct_of_cd4 - pair.stained.treg_pct_of_cd4) < 1.0
    True
    >>> abs(r.cd4_per_ul / pair.stained.cd4_per_ul - 1) < 0.05
    True
    """
    if (
        isinstance(beads_per_tube, bool)
        or not isinstance(beads_per_tube, numbers.Real)
        or not float(beads_per_tube).is_integer()
        or beads_per_tube <= 0
    ):
        raise CytometryError(f"beads_per_tube must be a positive integer, got {beads_per_tube!r}")
    if not (isinstance(blood_volume_ul, numbers.Real) and math.isfinite(blood_volume_ul)
            and blood_volume_ul > 0):
        raise CytometryError(f"blood_volume_ul must be a positive number, got {blood_volume_ul!r}")
    params = parameters if parameters is not None else TregParameters()
    warn: list[str] = []
    s_raw = _load(stained)
    i_raw = _load(isotype)
    cmap = resolve_channels(s_raw, panel)
    for what, ch in (("FSC", cmap.fsc), ("SSC", cmap.ssc), ("beads", cmap.bead),
                     *cmap.markers.items()):
        if ch not in i_raw.pnn:
            found = ", ".join(c.label for c in i_raw.channels)
            raise CytometryError(
                f"{i_raw.path}: isotype tube lacks channel {ch!r} ({what} in the stained tube); "
                f"channels are: {found}"
            )
    cd4_iso_pns = i_raw.channel(cmap.markers["CD4"]).pns
    if not names_marker(cd4_iso_pns, "CD4"):
        warn.append(
            f"isotype tube: $PnS of {cmap.markers['CD4']} is {cd4_iso_pns!r}, not CD4"
        )
    if (
        spillover is None and params.compensate and s_raw.spillover is not None
        and i_raw.spillover is not None
        and (s_raw.spillover.labels != i_raw.spillover.labels
             or not np.allclose(s_raw.spillover.matrix, i_raw.spillover.matrix))
    ):
        warn.append(
            "stained and isotype tubes carry different spillover matrices; each uses its own"
        )
    s = _compensated(s_raw, params, spillover, warn, "stained")
    i = _compensated(i_raw, params, spillover, warn, "isotype")

    st = _gate_tube(s, cmap, params, "stained", warn, require_beads=True)
    it = _gate_tube(i, cmap, params, "isotype", warn, require_beads=False)

    # D19: positive = above the isotype tube's 99.5th percentile on that channel
    iso_cd4 = it.cd4.mask
    q = params.isotype_percentile
    cd25_ch, cd127_ch = cmap.markers["CD25"], cmap.markers["CD127"]
    cd25_thr = float(np.percentile(i.column(cd25_ch)[iso_cd4], q))
    cd127_thr = float(np.percentile(i.column(cd127_ch)[iso_cd4], q))
    if it.cd4.n_in < params.warn_isotype_cd4_events:
        warn.append(
            f"isotype tube: only {it.cd4.n_in} CD4+ events set the {q:g}th percentile thresholds"
        )
    cd25 = RangeGate.above("CD25+", cd25_ch, cd25_thr).apply(s, st.cd4)
    # D19: CD127dim = below the isotype-based CD127 threshold after CD25+ selection
    treg = RangeGate.below("Treg", cd127_ch, cd127_thr).apply(s, cd25)

    bead_events = st.beads.n_in
    if bead_events < params.warn_bead_events:
        warn.append(f"stained tube: only {bead_events} bead events; absolute counts are imprecise")
    cd4_events, treg_events = st.cd4.n_in, treg.n_in
    # TRIAL.md section 8: cells/uL = cell events / bead events x beads per tube / volume
    per_ul = float(beads_per_tube) / bead_events / float(blood_volume_ul)
    if params.cd4_threshold is None and it.cd4_valley is not None and st.cd4_valley is not None:
        gap = abs(it.cd4_valley.valley_scale - st.cd4_valley.valley_scale)
        if gap > 0.1:
            warn.append(f"CD4 thresholds of the two tubes differ by {gap:.2f} logicle units")
    return TregResult(
        treg_pct_of_cd4=100.0 * treg_events / cd4_events,
        cd4_events=cd4_events,
        treg_events=treg_events,
        bead_events=bead_events,
        cd4_per_ul=cd4_events * per_ul,
        treg_per_ul=treg_events * per_ul,
        thresholds=TregThresholds(st.cd4_threshold, it.cd4_threshold, cd25_thr, cd127_thr),
        gates=(st.beads, st.cells, st.lymphocytes, st.cd4, cd25, treg),
        isotype_gates=(it.beads, it.cells, it.lymphocytes, it.cd4),
        parameters=params,
        warnings=tuple(warn),
        beads_per_tube=int(beads_per_tube),
        blood_volume_ul=float(blood_volume_ul),
        channels=cmap,
        stained_path=str(s.path),
        isotype_path=str(i.path),
        lymphocyte_fits=(st.lymphocyte_fit, it.lymphocyte_fit),
        cd4_valleys=(st.cd4_valley, it.cd4_valley),
    )
