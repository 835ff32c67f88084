"""Gating-ML 2.0 export: schema-valid, parsed by FlowKit, same counts when FlowKit gates.

FlowKit (a test-time reference, never imported by the package) parses our
documents with its own Gating-ML reader and applies the gates to the same FCS
files with its own compensation, logicle/arcsinh transforms and polygon test.
"""

from __future__ import annotations

import doctest
import math
import sys
import warnings
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from saatrial.cytometry import (
    Arcsinh,
    BeadGate,
    CytometryError,
    Logicle,
    NotGate,
    PolygonGate,
    QuadrantGate,
    RangeGate,
    SyntheticSpec,
    analyze_treg,
    write_fcs,
    write_synthetic_pair,
)
from saatrial.cytometry import gatingml as gml
from saatrial.cytometry.batch import load_pair
from saatrial.cytometry.gatingml import (
    GateNode,
    gate_id,
    gatingml_document,
    nodes_from_results,
    treg_gatingml,
    write_gatingml,
)
from saatrial.cytometry.synthetic import TREG_SPILLOVER

NS = {"gating": gml.NS_GATING, "transforms": gml.NS_TRANSFORMS, "data-type": gml.NS_DATATYPE}
SMALL = {"n_lymphocytes": 8_000, "n_monocytes": 1_200, "n_granulocytes": 6_000,
         "n_debris": 1_600, "bead_events": 2_000}


def _parse(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def _gate(root: ET.Element, gate_id_: str) -> ET.Element:
    for el in root:
        if el.get(f"{{{gml.NS_GATING}}}id") == gate_id_:
            return el
    raise AssertionError(f"no gate {gate_id_}")


def _attr(el: ET.Element, ns: str, name: str) -> str | None:
    return el.get(f"{{{NS[ns]}}}{name}")


# --- hand-worked documents ---------------------------------------------------------------


def test_range_gate_on_logicle_with_compensation_reference() -> None:
    g = RangeGate.above("CD4+", "PerCP-Cy5-5-A", 1000.0)
    xml = gatingml_document([GateNode("CD4pos", g)], spillover=TREG_SPILLOVER, scale=Logicle(),
                            fluorescence=["PerCP-Cy5-5-A"])
    root = _parse(xml)
    (xf,) = root.findall("transforms:transformation", NS)
    assert _attr(xf, "transforms", "id") == "logicle"
    lg = xf.find("transforms:logicle", NS)
    assert {k: float(_attr(lg, "transforms", k)) for k in "TWMA"} == {
        "T": 262144.0, "W": 0.5, "M": 4.5, "A": 0.0}
    rect = _gate(root, "CD4pos")
    assert rect.tag == f"{{{gml.NS_GATING}}}RectangleGate"
    (dim,) = rect.findall("gating:dimension", NS)
    assert _attr(dim, "gating", "compensation-ref") == "spillover"
    assert _attr(dim, "gating", "transformation-ref") == "logicle"
    # the limit is the logicle value of 1000 (written as a round-trip exact double)
    assert float(_attr(dim, "gating", "min")) == float(Logicle().apply([1000.0])[0])
    assert _attr(dim, "gating", "max") is None
    assert dim.find("data-type:fcs-dimension", NS).get(f"{{{gml.NS_DATATYPE}}}name") == (
        "PerCP-Cy5-5-A")
    info = rect.find("data-type:custom_info", NS).text
    assert "1000 < PerCP-Cy5-5-A" in info  # strictness recorded in saatrial's own words


def test_matrix_is_written_row_by_row_as_spillover() -> None:
    sp = TREG_SPILLOVER
    xml = gatingml_document([GateNode("x", RangeGate.above("x", "PE-A", 5.0))], spillover=sp)
    (m,) = _parse(xml).findall("transforms:spectrumMatrix", NS)
    dets = [d.get(f"{{{gml.NS_DATATYPE}}}name")
            for d in m.find("transforms:detectors", NS)]
    assert dets == list(sp.labels)
    rows = [[float(_attr(c, "transforms", "value")) for c in s]
            for s in m.findall("transforms:spectrum", NS)]
    assert rows == sp.matrix.tolist()  # 2nd row: PE seen 25 % in PerCP, 1 % in FITC and APC
    assert rows[1] == [0.01, 1.0, 0.25, 0.01]


def test_linear_scatter_polygon_not_transformed_and_uncompensated() -> None:
    poly = PolygonGate("lymphocytes", "FSC-A", "SSC-A", ((1.0, 2.0), (3.0, 2.0), (2.0, 5.0)))
    xml = gatingml_document([GateNode("lymphocytes", poly)], spillover=TREG_SPILLOVER,
                            scale=Logicle(), fluorescence=["FSC-A"])  # even if listed
    el = _gate(_parse(xml), "lymphocytes")
    dims = el.findall("gating:dimension", NS)
    assert [_attr(d, "gating", "compensation-ref") for d in dims] == ["uncompensated"] * 2
    assert all(_attr(d, "gating", "transformation-ref") is None for d in dims)
    verts = [[float(c.get(f"{{{gml.NS_DATATYPE}}}value")) for c in v]
             for v in el.findall("gating:vertex", NS)]
    assert verts == [[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]]


def test_quadrant_becomes_rectangle_of_its_quadrant() -> None:
    q = QuadrantGate("Treg", "PE-A", "APC-A", 400.0, 500.0, "+-")  # x >= 400, y < 500
    el = _gate(_parse(gatingml_document([GateNode("Treg", q)])), "Treg")
    dims = el.findall("gating:dimension", NS)
    assert [(_attr(d, "gating", "min"), _attr(d, "gating", "max")) for d in dims] == [
        ("400.0", None), (None, "500.0")]


def test_not_gate_references_the_excluded_gate_and_parents_chain() -> None:
    beads = BeadGate("beads", "FITC-A", 3000.0)
    nodes = [GateNode("beads", beads), GateNode("cells", NotGate("cells", beads)),
             GateNode("lymph", PolygonGate("l", "FSC-A", "SSC-A", ((0, 0), (1, 0), (0, 1))),
                      "cells")]
    root = _parse(gatingml_document(nodes))
    cells = _gate(root, "cells")
    assert cells.tag == f"{{{gml.NS_GATING}}}BooleanGate"
    ref = cells.find("gating:not/gating:gateReference", NS)
    assert _attr(ref, "gating", "ref") == "beads"
    assert _attr(_gate(root, "lymph"), "gating", "parent_id") == "cells"
    assert _attr(_gate(root, "beads"), "gating", "parent_id") is None


def test_empty_bead_gate_is_written_as_nothing_above_the_largest_double() -> None:
    el = _gate(_parse(gatingml_document([GateNode("beads", BeadGate("beads", "FITC-A",
                                                                    math.inf))],
                                        scale=Logicle(), fluorescence=["FITC-A"])), "beads")
    (dim,) = el.findall("gating:dimension", NS)
    assert float(_attr(dim, "gating", "min")) == sys.float_info.max
    assert _attr(dim, "gating", "transformation-ref") is None


def test_arcsinh_scale_maps_to_fasinh() -> None:
    g = RangeGate.above("CD25+", "PE-A", 600.0)
    root = _parse(gatingml_document([GateNode("CD25pos", g)], scale=Arcsinh(150),
                                    fluorescence=["PE-A"]))
    fa = root.find("transforms:transformation/transforms:fasinh", NS)
    t, m, a = (float(_attr(fa, "transforms", k)) for k in "TMA")
    assert (m, a) == (4.5, 0.0)
    assert t == pytest.approx(150 * math.sinh(4.5 * math.log(10)), rel=1e-15)
    # Gating-ML fasinh(x) = (asinh(x sinh(M ln10) / T) + A ln10) / ((M + A) ln10)
    expected = math.asinh(600.0 * math.sinh(m * math.log(10)) / t) / (m * math.log(10))
    (dim,) = _gate(root, "CD25pos").findall("gating:dimension", NS)
    assert float(_attr(dim, "gating", "min")) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([GateNode("a", RangeGate.above("a", "x", 1.0)),
          GateNode("a", RangeGate.above("b", "x", 2.0))], "duplicate gate id 'a'"),
        ([GateNode("b", RangeGate.above("b", "x", 1.0), "a")], "parent 'a'"),
        ([GateNode("c", NotGate("c", BeadGate("beads", "x", 1.0)))], "not among the gates"),
    ],
)
def test_bad_hierarchies_are_refused(nodes: list[GateNode], message: str) -> None:
    with pytest.raises(CytometryError, match=message):
        gatingml_document(nodes)


def test_ids_must_be_ncnames() -> None:
    with pytest.raises(CytometryError, match="NCName"):
        GateNode("CD4+", RangeGate.above("CD4+", "x", 1.0))
    assert gate_id("CD4+") == "CD4pos"
    assert gate_id("CD25+", "isotype_") == "isotype_CD25pos"
    assert gate_id("9 lives") == "g_9_lives"


def test_non_finite_limit_is_refused() -> None:
    with pytest.raises(CytometryError, match="value nan is not finite"):
        gatingml_document([GateNode("r", RangeGate("r", "PE-A", low=math.nan))])


def test_write_gatingml_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "g.xml"
    target.write_text("old")
    write_gatingml(target, "<new/>\n")
    assert target.read_text() == "<new/>\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.xml"]


def test_module_examples() -> None:
    result = doctest.testmod(gml, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --- against the schema and FlowKit -------------------------------------------------------


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("gml")
    out = {}
    for name, spill in (("spill", TREG_SPILLOVER), ("nospill", None)):
        pair = write_synthetic_pair(folder, SyntheticSpec(seed=21, treg_fraction=0.07,
                                                          spillover=spill, **SMALL), name)
        s, i = load_pair(pair.stained_path, pair.isotype_path)
        r = analyze_treg(s, i, beads_per_tube=50_000, blood_volume_ul=50)
        out[name] = (r, s, i)
    return out


def _schema():
    etree = pytest.importorskip("lxml.etree")
    fk = pytest.importorskip("flowkit")
    xsd = Path(fk.__file__).parent / "_resources" / "Gating-ML.v2.0.xsd"
    if not xsd.is_file():
        pytest.skip("FlowKit's copy of the Gating-ML 2.0 XSD is not installed")
    return etree, etree.XMLSchema(etree.parse(str(xsd)))


@pytest.mark.parametrize("scale", ["analysis", "linear", Arcsinh(150)],
                         ids=["logicle", "linear", "arcsinh"])
def test_treg_document_is_valid_gatingml_2(analysed, scale) -> None:
    etree, schema = _schema()
    r, s, i = analysed["spill"]
    doc = etree.fromstring(treg_gatingml(r, s, i, scale=scale).encode("utf-8"))
    assert schema.validate(doc), schema.error_log


def _flowkit_counts(xml_path: Path, fcs: Path, ids: list[str]) -> dict[str, int]:
    fk = pytest.importorskip("flowkit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strategy = fk.parse_gating_xml(str(xml_path))
        res = strategy.gate_sample(fk.Sample(str(fcs), subsample=0))
    return {g: int(res.get_gate_count(g)) for g in ids}


@pytest.mark.parametrize("which", ["spill", "nospill"])
@pytest.mark.parametrize("scale", ["analysis", "linear", Arcsinh(150)],
                         ids=["logicle", "linear", "arcsinh"])
def test_flowkit_gating_gives_our_counts(analysed, tmp_path: Path, which: str, scale) -> None:
    """Every gate of both tubes: FlowKit's counts equal ours, event for event."""
    r, s, i = analysed[which]
    xml = write_gatingml(tmp_path / "gates.xml", treg_gatingml(r, s, i, scale=scale))
    for gates, fcs, prefix in ((r.gates, s.path, ""), (r.isotype_gates, i.path, "isotype_")):
        ids = [gate_id(g.name, prefix) for g in gates]
        ours = {gate_id(g.name, prefix): g.n_in for g in gates}
        assert _flowkit_counts(xml, fcs, ids) == ours
    if which == "nospill":
        assert "compensation-ref=\"spillover\"" not in xml.read_text()


def test_boundary_difference_is_the_documented_one(tmp_path: Path) -> None:
    """An event exactly on a positive threshold: outside our strict gate, inside Gating-ML's.

    This is the only systematic difference between the two (module notes); the
    Treg thresholds are isotype percentiles, not stained-tube event values.
    """
    fcs = write_fcs(tmp_path / "b.fcs", np.array([[1.0, 99.0], [2.0, 100.0], [3.0, 101.0]]),
                    ["FSC-A", "PE-A"])
    gate = RangeGate.above("CD25+", "PE-A", 100.0)
    ours = gate.apply({"PE-A": np.array([99.0, 100.0, 101.0])})
    xml = write_gatingml(tmp_path / "g.xml", gatingml_document(nodes_from_results([ours])))
    assert ours.n_in == 1
    assert _flowkit_counts(xml, fcs, ["CD25pos"]) == {"CD25pos": 2}
