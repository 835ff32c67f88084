"""Flow cytometry: FCS files, compensation, transforms, gates and the trial's Treg panel.

Typical use (TRIAL.md section 8)::

    from saatrial.cytometry import analyze_treg
    result = analyze_treg("S01_stained.fcs", "S01_isotype.fcs",
                          beads_per_tube=50_123, blood_volume_ul=50)
    result.treg_pct_of_cd4, result.cd4_per_ul, result.treg_per_ul

Building blocks, each usable on its own:

* :func:`read_fcs` -> :class:`FcsSample` (FCS 2.0/3.0/3.1; :class:`FcsError` names file and problem)
* :class:`Spillover`, :func:`compensate`, :meth:`FcsSample.compensate`
* :class:`Logicle`, :class:`Arcsinh`
* gates: :class:`PolygonGate`, :class:`RangeGate`, :class:`QuadrantGate`,
  :class:`BeadGate`, :class:`NotGate` -> :class:`GateResult`
* automatic gates: :func:`auto_lymphocyte_gate`, :func:`auto_bead_gate`, :func:`valley_threshold`
* panels: :func:`load_panel`, :func:`resolve_channels`
* synthetic data: :func:`write_fcs`, :func:`write_synthetic_fcs`, :func:`write_synthetic_pair`

This package imports nothing else of saatrial.
"""

from saatrial.cytometry.autogate import (
    LymphocyteGateFit,
    ValleyThreshold,
    auto_bead_gate,
    auto_lymphocyte_gate,
    valley_threshold,
)
from saatrial.cytometry.compensation import Spillover, compensate, parse_spillover
from saatrial.cytometry.errors import CytometryError, FcsError, GatingError
from saatrial.cytometry.fcs import Channel, FcsSample, read_fcs
from saatrial.cytometry.fcs_writer import write_fcs
from saatrial.cytometry.gates import (
    BeadGate,
    GateResult,
    NotGate,
    PolygonGate,
    QuadrantGate,
    RangeGate,
)
from saatrial.cytometry.panel import ChannelMap, Panel, load_panel, resolve_channels
from saatrial.cytometry.synthetic import (
    SyntheticPair,
    SyntheticSpec,
    SyntheticTruth,
    write_synthetic_fcs,
    write_synthetic_pair,
)
from saatrial.cytometry.transforms import Arcsinh, Logicle
from saatrial.cytometry.treg import TregParameters, TregResult, TregThresholds, analyze_treg

__all__ = [
    "Arcsinh",
    "BeadGate",
    "Channel",
    "ChannelMap",
    "CytometryError",
    "FcsError",
    "FcsSample",
    "GateResult",
    "GatingError",
    "Logicle",
    "LymphocyteGateFit",
    "NotGate",
    "Panel",
    "PolygonGate",
    "QuadrantGate",
    "RangeGate",
    "Spillover",
    "SyntheticPair",
    "SyntheticSpec",
    "SyntheticTruth",
    "TregParameters",
    "TregResult",
    "TregThresholds",
    "ValleyThreshold",
    "analyze_treg",
    "auto_bead_gate",
    "auto_lymphocyte_gate",
    "compensate",
    "load_panel",
    "parse_spillover",
    "read_fcs",
    "resolve_channels",
    "valley_threshold",
    "write_fcs",
    "write_synthetic_fcs",
    "write_synthetic_pair",
]
