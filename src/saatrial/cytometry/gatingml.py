"""Export the gates of an analysis as a Gating-ML 2.0 document.

Gating-ML 2.0 (ISAC) is the exchange format FlowJo, FlowKit, flowCore and
Cytobank read, so a lab can check every gate saatrial drew in its own tool.
:func:`gatingml_document` turns a gate hierarchy (:class:`GateNode`) into an
XML string; :func:`treg_gatingml` does it for a :class:`~saatrial.cytometry.treg.TregResult`
(both tubes in one document), and :func:`write_gatingml` writes the file
atomically.

How saatrial gates map to Gating-ML elements
--------------------------------------------
=====================  ======================================================
saatrial               Gating-ML 2.0
=====================  ======================================================
``RangeGate``          ``RectangleGate`` with one ``dimension`` (min and/or max)
``BeadGate``           ``RectangleGate`` (bead channel min, optional FSC max)
``QuadrantGate``       ``RectangleGate`` with two dimensions (the one quadrant)
``PolygonGate``        ``PolygonGate`` (vertices in data units, never transformed)
``NotGate``            ``BooleanGate`` ``not`` referencing the excluded gate
=====================  ======================================================

* **Compensation.** Dimensions on channels of the spillover matrix carry
  ``compensation-ref`` = the id of a ``transforms:spectrumMatrix`` written in
  the same document (fluorochromes named like their detectors, rows =
  fluorochromes, as ``$SPILLOVER``); all other dimensions (scatter) are
  ``uncompensated``. Without a matrix every dimension is ``uncompensated``.
* **Transformations.** Rectangle dimensions on fluorescence channels are
  written on the analysis scale (default logicle, T=262144, W=0.5, M=4.5,
  A=0, ``transforms:logicle``), as a cytometrist views them, with
  ``transformation-ref``; the limits are the scale values of saatrial's
  thresholds (the scales are strictly increasing, so the same events fall
  inside). :class:`~saatrial.cytometry.transforms.Arcsinh` becomes
  ``transforms:fasinh`` with ``M = 4.5, A = 0, T = cofactor * sinh(M ln 10)``
  (then ``fasinh(x) = asinh(x / cofactor) / (M ln 10)``). Polygon vertices stay
  in data units: a straight edge on a logicle axis is a curve in data units,
  so transforming only the vertices would change the gate.
* **Boundaries.** A Gating-ML rectangle holds ``min <= x < max``. saatrial's
  "positive" gates are strict (``x > threshold``, D19), so an event exactly
  on a positive threshold is inside the exported gate and outside ours. The
  thresholds are isotype percentiles or density valleys (not stained-tube
  event values), so this does not occur in practice; the tests count the
  events of real gating in both tools. Polygon edges: events exactly on an
  edge may fall either way in either tool.
* **Ids.** Gate ids must be XML NCNames: ``CD4+`` becomes ``CD4pos``; the
  isotype tube's gates get the prefix ``isotype_``. Each gate carries a
  ``data-type:custom_info`` with saatrial's own description (type, data-unit
  parameters, inequality, event counts).

References
----------
.. [1] Spidlen J, Moore W, et al. Gating-ML 2.0. International Society for
   Advancement of Cytometry (ISAC) Recommendation, 2013.
   http://flowcyt.sourceforge.net/gating/latest.pdf
.. [2] Parks DR, Roederer M, Moore WA. A new "Logicle" display method.
   Cytometry A 2006;69A:541-551.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from xml.etree import ElementTree as ET

from saatrial.cytometry.compensation import Spillover
from saatrial.cytometry.errors import CytometryError
from saatrial.cytometry.gates import (
    BeadGate,
    Gate,
    GateResult,
    NotGate,
    PolygonGate,
    QuadrantGate,
    RangeGate,
)
from saatrial.cytometry.transforms import Arcsinh, Logicle

if TYPE_CHECKING:
    from saatrial.cytometry.fcs import FcsSample
    from saatrial.cytometry.treg import TregResult

NS_GATING = "http://www.isac-net.org/std/Gating-ML/v2.0/gating"
NS_TRANSFORMS = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
NS_DATATYPE = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: ``xsi:schemaLocation`` pairs of the three Gating-ML 2.0 schemas.
SCHEMA_LOCATION = " ".join(
    [
        NS_GATING, "http://flowcyt.sourceforge.net/gating/2.0/xsd/Gating-ML.v2.0.xsd",
        NS_TRANSFORMS,
        "http://flowcyt.sourceforge.net/gating/2.0/xsd/Transformations.v2.0.xsd",
        NS_DATATYPE, "http://flowcyt.sourceforge.net/gating/2.0/xsd/DataTypes.v2.0.xsd",
    ]
)
#: Gating-ML ``M`` used for an arcsinh scale (any M > 0 gives the same gate).
ASINH_M = 4.5
UNCOMPENSATED = "uncompensated"
_NCNAME_START = re.compile(r"[A-Za-z_]")
_NCNAME_BAD = re.compile(r"[^A-Za-z0-9_.\-]")

Scale = Logicle | Arcsinh


@dataclass(frozen=True)
class GateNode:
    """One gate of the hierarchy to export.

    Parameters
    ----------
    id : str
        Gate id in the document (an XML NCName: letter or ``_`` first, then
        letters, digits, ``_``, ``-``, ``.``).
    gate : Gate
        The saatrial gate.
    parent : str or None
        Id of the parent gate (None = all events).
    info : str
        Free text stored in the gate's ``custom_info`` (e.g. event counts).
    """

    id: str
    gate: Gate
    parent: str | None = None
    info: str = ""

    def __post_init__(self) -> None:
        if not self.id or not _NCNAME_START.match(self.id) or _NCNAME_BAD.search(self.id):
            raise CytometryError(
                f"Gating-ML gate id {self.id!r} is not an XML NCName (letter or _ first, then "
                "letters, digits, _ - .); use gate_id() to make one"
            )


def gate_id(name: str, prefix: str = "") -> str:
    """An XML NCName for a population name: ``+`` -> ``pos``, other symbols -> ``_``.

    Examples
    --------
    >>> gate_id("CD4+"), gate_id("CD25+", "isotype_"), gate_id("3 part/gate")
    ('CD4pos', 'isotype_CD25pos', 'g_3_part_gate')
    """
    out = _NCNAME_BAD.sub("_", (prefix + name).replace("+", "pos"))
    if not out or not _NCNAME_START.match(out):
        out = "g_" + out
    return out


def nodes_from_results(results: Sequence[GateResult], prefix: str = "") -> list[GateNode]:
    """Gate nodes for a chain of :class:`GateResult` (ids from their names, counts as info).

    Examples
    --------
    >>> import numpy as np
    >>> ev = {"PE-A": np.array([1.0, 5.0, 9.0])}
    >>> r = RangeGate.above("CD25+", "PE-A", 4.0).apply(ev)
    >>> n = nodes_from_results([r])[0]
    >>> n.id, n.parent, n.info
    ('CD25pos', None, 'CD25+: 2 of 3 events')
    """
    names = {r.name for r in results}
    nodes = []
    for r in results:
        if r.parent is not None and r.parent not in names:
            raise CytometryError(
                f"gate {r.name!r}: parent {r.parent!r} is not among the gates exported"
            )
        nodes.append(
            GateNode(
                gate_id(r.name, prefix),
                r.gate,
                None if r.parent is None else gate_id(r.parent, prefix),
                f"{r.name}: {r.n_in} of {r.n_parent} events",
            )
        )
    return nodes


def _num(x: float) -> str:
    if not math.isfinite(x):
        raise CytometryError(f"Gating-ML: value {x} is not finite")
    return repr(float(x))


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


class _Writer:
    """Builds the document: matrices and transformations first, then gates."""

    def __init__(
        self, spillovers: dict[str, Spillover], scale: Scale | None,
        fluorescence: Collection[str],
    ) -> None:
        ET.register_namespace("gating", NS_GATING)
        ET.register_namespace("transforms", NS_TRANSFORMS)
        ET.register_namespace("data-type", NS_DATATYPE)
        ET.register_namespace("xsi", NS_XSI)
        self.root = ET.Element(_q(NS_GATING, "Gating-ML"))
        self.root.set(_q(NS_XSI, "schemaLocation"), SCHEMA_LOCATION)
        self.scale = scale
        self.fluorescence = set(fluorescence)
        self.scale_id: str | None = None
        self.spillovers = spillovers

    def info(self, parent: ET.Element, text: str) -> None:
        if text:
            ET.SubElement(parent, _q(NS_DATATYPE, "custom_info")).text = text

    def add_scale(self) -> None:
        if self.scale is None:
            return
        xf = ET.SubElement(self.root, _q(NS_TRANSFORMS, "transformation"))
        if isinstance(self.scale, Logicle):
            self.scale_id = "logicle"
            el = ET.SubElement(xf, _q(NS_TRANSFORMS, "logicle"))
            params = {"T": self.scale.t, "W": self.scale.w, "M": self.scale.m, "A": self.scale.a}
        else:
            self.scale_id = "arcsinh"
            el = ET.SubElement(xf, _q(NS_TRANSFORMS, "fasinh"))
            t = float(self.scale.cofactor) * math.sinh(ASINH_M * math.log(10.0))
            params = {"T": t, "M": ASINH_M, "A": 0.0}
        xf.set(_q(NS_TRANSFORMS, "id"), self.scale_id)
        for k, v in params.items():
            el.set(_q(NS_TRANSFORMS, k), _num(float(v)))

    def add_matrices(self) -> None:
        for matrix_id, sp in self.spillovers.items():
            m = ET.SubElement(self.root, _q(NS_TRANSFORMS, "spectrumMatrix"))
            m.set(_q(NS_TRANSFORMS, "id"), matrix_id)
            for group in ("fluorochromes", "detectors"):
                g = ET.SubElement(m, _q(NS_TRANSFORMS, group))
                for label in sp.labels:
                    ET.SubElement(g, _q(NS_DATATYPE, "fcs-dimension")).set(
                        _q(NS_DATATYPE, "name"), label
                    )
            for row in sp.matrix:
                spec = ET.SubElement(m, _q(NS_TRANSFORMS, "spectrum"))
                for v in row:
                    ET.SubElement(spec, _q(NS_TRANSFORMS, "coefficient")).set(
                        _q(NS_TRANSFORMS, "value"), _num(float(v))
                    )

    def to_scale(self, x: float) -> float:
        if self.scale is None:
            return x
        y = float(self.scale.apply([x])[0])
        if isinstance(self.scale, Arcsinh):
            y /= ASINH_M * math.log(10.0)
        return y

    def dimension(
        self, gate_el: ET.Element, channel: str, matrix_id: str | None, transform: bool,
        low: float | None = None, high: float | None = None,
    ) -> None:
        dim = ET.SubElement(gate_el, _q(NS_GATING, "dimension"))
        comp = matrix_id if matrix_id and channel in self.spillovers[matrix_id].labels else None
        dim.set(_q(NS_GATING, "compensation-ref"), comp or UNCOMPENSATED)
        low = None if low is not None and low == -math.inf else low
        high = None if high is not None and high == math.inf else high
        if (low is not None and low == math.inf) or (high is not None and high == -math.inf):
            # an empty gate (e.g. no bead population in the isotype tube): nothing is
            # >= the largest double, in data units
            transform, low, high = False, sys.float_info.max, None
        scaled = transform and self.scale_id is not None and channel in self.fluorescence
        if scaled:
            dim.set(_q(NS_GATING, "transformation-ref"), str(self.scale_id))
        for attr, value in (("min", low), ("max", high)):
            if value is not None:
                dim.set(_q(NS_GATING, attr), _num(self.to_scale(value) if scaled else value))
        ET.SubElement(dim, _q(NS_DATATYPE, "fcs-dimension")).set(_q(NS_DATATYPE, "name"), channel)

    def gate(self, node: GateNode, earlier: Sequence[GateNode], matrix_id: str | None) -> None:
        g = node.gate
        if isinstance(g, NotGate):
            el = self._gate_el("BooleanGate", node)
            # the excluded gate: the nearest earlier node holding that very gate object,
            # else the nearest one holding an equal gate
            ref = next((n.id for n in reversed(earlier) if n.gate is g.gate), None)
            if ref is None:
                ref = next((n.id for n in reversed(earlier) if n.gate == g.gate), None)
            if ref is None:
                raise CytometryError(
                    f"gate {node.id!r}: NotGate excludes gate {g.gate.name!r}, which is not "
                    "among the gates exported"
                )
            neg = ET.SubElement(el, _q(NS_GATING, "not"))
            ET.SubElement(neg, _q(NS_GATING, "gateReference")).set(_q(NS_GATING, "ref"), ref)
        elif isinstance(g, RangeGate):
            el = self._gate_el("RectangleGate", node)
            self.dimension(el, g.channel, matrix_id, True, g.low, g.high)
        elif isinstance(g, BeadGate):
            el = self._gate_el("RectangleGate", node)
            self.dimension(el, g.bead_channel, matrix_id, True, low=g.bead_min)
            if g.fsc_channel is not None:
                self.dimension(el, g.fsc_channel, matrix_id, True, high=g.fsc_max)
        elif isinstance(g, QuadrantGate):
            el = self._gate_el("RectangleGate", node)
            for ch, split, sign in (
                (g.x_channel, g.x_split, g.quadrant[0]), (g.y_channel, g.y_split, g.quadrant[1]),
            ):
                lo, hi = (split, None) if sign == "+" else (None, split)
                self.dimension(el, ch, matrix_id, True, lo, hi)
        elif isinstance(g, PolygonGate):
            el = self._gate_el("PolygonGate", node)
            self.dimension(el, g.x_channel, matrix_id, False)
            self.dimension(el, g.y_channel, matrix_id, False)
            for x, y in g.vertices:
                v = ET.SubElement(el, _q(NS_GATING, "vertex"))
                for c in (x, y):
                    ET.SubElement(v, _q(NS_GATING, "coordinate")).set(
                        _q(NS_DATATYPE, "value"), _num(c)
                    )
        else:  # pragma: no cover - Gate is a closed union
            raise CytometryError(f"gate {node.id!r}: {type(g).__name__} has no Gating-ML form")

    def _gate_el(self, kind: str, node: GateNode) -> ET.Element:
        el = ET.SubElement(self.root, _q(NS_GATING, kind))
        el.set(_q(NS_GATING, "id"), node.id)
        if node.parent is not None:
            el.set(_q(NS_GATING, "parent_id"), node.parent)
        self.info(el, _describe(node))
        return el


def _describe(node: GateNode) -> str:
    g = node.gate
    if isinstance(g, RangeGate):
        lo_op = "<=" if g.closed in ("left", "both") else "<"
        hi_op = "<=" if g.closed in ("right", "both") else "<"
        lo = "" if g.low is None else f"{g.low:.10g} {lo_op} "
        hi = "" if g.high is None else f" {hi_op} {g.high:.10g}"
        rule = f"{lo}{g.channel}{hi}"
    elif isinstance(g, BeadGate):
        rule = f"{g.bead_channel} >= {g.bead_min:.10g}" + (
            f" and {g.fsc_channel} < {g.fsc_max:.10g}" if g.fsc_channel else ""
        )
    elif isinstance(g, QuadrantGate):
        rule = (
            f"quadrant {g.quadrant} of {g.x_channel} {g.x_split:.10g} / "
            f"{g.y_channel} {g.y_split:.10g}"
        )
    elif isinstance(g, PolygonGate):
        rule = f"polygon on {g.x_channel}/{g.y_channel}, {len(g.vertices)} vertices"
    else:
        rule = f"not {g.gate.name}"
    text = f"saatrial {type(g).__name__} {g.name!r}: {rule} (compensated data units)"
    return f"{text}; {node.info}" if node.info else text


def gatingml_document(
    nodes: Sequence[GateNode],
    *,
    spillover: Spillover | None = None,
    scale: Scale | None = None,
    fluorescence: Collection[str] = (),
    description: str = "",
    node_spillovers: dict[str, Spillover | None] | None = None,
) -> str:
    """A Gating-ML 2.0 document (XML text) for a gate hierarchy.

    Parameters
    ----------
    nodes : sequence of GateNode
        Gates in an order where every parent comes before its children.
    spillover : Spillover, optional
        Matrix the gates' data were compensated with (id ``spillover``).
    scale : Logicle or Arcsinh, optional
        Scale for rectangle limits on ``fluorescence`` channels (None = data units).
    fluorescence : collection of str
        Channels written on ``scale`` (scatter is always in data units).
    description : str
        Document-level ``custom_info`` text.
    node_spillovers : dict, optional
        Per-node matrix (node id -> Spillover or None), overriding ``spillover``
        (e.g. two tubes with different matrices in one document); equal
        matrices are written once.

    Returns
    -------
    str
        UTF-8 XML text with declaration.

    Raises
    ------
    CytometryError
        Duplicate or invalid ids, a parent or excluded gate that is not in
        ``nodes``, or a non-finite value.

    Examples
    --------
    >>> g = RangeGate.above("CD4+", "PerCP-Cy5-5-A", 1000.0)
    >>> xml = gatingml_document([GateNode("CD4pos", g)], scale=Logicle(),
    ...                         fluorescence=["PerCP-Cy5-5-A"])
    >>> 'transforms:logicle' in xml and 'gating:transformation-ref="logicle"' in xml
    True
    """
    seen: set[str] = set()
    for n in nodes:
        if n.id in seen:
            raise CytometryError(f"Gating-ML: duplicate gate id {n.id!r}")
        if n.parent is not None and n.parent not in seen:
            raise CytometryError(
                f"Gating-ML: gate {n.id!r} has parent {n.parent!r}, which is not an earlier gate"
            )
        seen.add(n.id)
    per_node = dict(node_spillovers or {})
    matrices: dict[str, Spillover] = {}
    node_matrix: dict[str, str | None] = {}
    for n in nodes:
        sp = per_node.get(n.id, spillover)
        if sp is None:
            node_matrix[n.id] = None
            continue
        same = next(
            (k for k, m in matrices.items()
             if m.labels == sp.labels and (m.matrix == sp.matrix).all()),
            None,
        )
        if same is None:
            same = "spillover" if not matrices else f"spillover{len(matrices) + 1}"
            matrices[same] = sp
        node_matrix[n.id] = same
    w = _Writer(matrices, scale, fluorescence)
    w.info(w.root, description)
    w.add_scale()
    w.add_matrices()
    for i, n in enumerate(nodes):
        w.gate(n, nodes[:i], node_matrix[n.id])
    ET.indent(w.root, space="  ")
    body = ET.tostring(w.root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def treg_gatingml(
    result: TregResult,
    stained: FcsSample | None = None,
    isotype: FcsSample | None = None,
    *,
    scale: Scale | Literal["analysis", "linear"] = "analysis",
) -> str:
    """Both tubes' gates of a Treg analysis as one Gating-ML 2.0 document.

    The stained tube's gates keep their names (``beads``, ``cells``,
    ``lymphocytes``, ``CD4pos``, ``CD25pos``, ``Treg``); the isotype tube's get
    the prefix ``isotype_``.

    Parameters
    ----------
    result : TregResult
        The analysis.
    stained, isotype : FcsSample, optional
        The samples as analysed; their ``compensated_with`` matrix is written
        and referenced. When omitted (or not compensated) the gates are
        ``uncompensated``.
    scale : Logicle, Arcsinh, "analysis" or "linear"
        Scale of the fluorescence limits: ``"analysis"`` (default) = the
        analysis' ``valley_transform`` (logicle), ``"linear"`` = data units.

    Returns
    -------
    str
    """
    sc: Scale | None
    if scale == "analysis":
        sc = result.parameters.valley_transform
    elif scale == "linear":
        sc = None
    elif isinstance(scale, Logicle | Arcsinh):
        sc = scale
    else:
        raise CytometryError(f"Gating-ML scale {scale!r}: use a Logicle, an Arcsinh, "
                             "'analysis' or 'linear'")
    fluor = [result.channels.bead, *result.channels.markers.values()]
    stained_nodes = nodes_from_results(result.gates)
    iso_nodes = nodes_from_results(result.isotype_gates, prefix="isotype_")
    per_node: dict[str, Spillover | None] = {}
    for nodes, sample in ((stained_nodes, stained), (iso_nodes, isotype)):
        sp = sample.compensated_with if sample is not None else None
        for n in nodes:
            per_node[n.id] = sp
    thr = result.thresholds
    description = (
        f"saatrial Treg panel (TRIAL.md section 8, D19). Stained tube: {result.stained_path}; "
        f"isotype tube (gates prefixed isotype_): {result.isotype_path}. Thresholds (compensated "
        f"data units): CD4 {thr.cd4:.10g} (isotype tube {thr.cd4_isotype:.10g}), CD25 "
        f"{thr.cd25:.10g}, CD127 {thr.cd127:.10g}. Result: Treg {result.treg_pct_of_cd4:.4f} % "
        f"of CD4+, {result.bead_events} bead events. saatrial positive gates are strict "
        "(x > threshold); Gating-ML rectangles include their min."
    )
    return gatingml_document(
        [*stained_nodes, *iso_nodes],
        scale=sc,
        fluorescence=fluor,
        description=description,
        node_spillovers=per_node,
    )


def write_gatingml(path: str | os.PathLike[str], xml: str) -> Path:
    """Write a Gating-ML document to ``path`` (temporary file in the same folder, then rename).

    Examples
    --------
    >>> import tempfile
    >>> p = write_gatingml(Path(tempfile.mkdtemp()) / "g.xml", "<x/>\\n")
    >>> p.read_text()
    '<x/>\\n'
    """
    from saatrial.atomic import write_file_atomic

    def write(tmp: Path) -> None:
        tmp.write_text(xml, encoding="utf-8", newline="\n")

    return write_file_atomic(Path(path), write, overwrite=True)
