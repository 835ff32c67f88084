"""Marker -> channel resolution by $PnS and by panel YAML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import (
    CytometryError,
    Panel,
    load_panel,
    read_fcs,
    resolve_channels,
    write_fcs,
)
from saatrial.cytometry.panel import find_marker_channel


def _sample(tmp_path: Path, pnn: list[str], pns: list[str], name: str = "s.fcs"):
    return read_fcs(write_fcs(tmp_path / name, np.zeros((2, len(pnn))), pnn, pns=pns))


def test_marker_is_a_whole_word(tmp_path: Path) -> None:
    s = _sample(tmp_path, ["FSC-A", "SSC-A", "B-A", "V-A", "R-A"],
                ["", "", "CD45RO FITC", "cd4-PerCP", "CD127"])
    assert find_marker_channel(s, "CD4").pnn == "V-A"  # not CD45RO; case ignored; '-' separates
    assert find_marker_channel(s, "CD127").pnn == "R-A"
    with pytest.raises(CytometryError, match=r"marker 'CD25' not found in \$PnS"):
        find_marker_channel(s, "CD25")


def test_area_channel_preferred_and_ambiguity(tmp_path: Path) -> None:
    s = _sample(tmp_path, ["PE-A", "PE-H"], ["CD25 PE", "CD25 PE"])
    assert find_marker_channel(s, "CD25").pnn == "PE-A"
    s2 = _sample(tmp_path, ["PE-A", "PE-Cy7-A"], ["CD25 PE", "CD25 PE-Cy7"], "s2.fcs")
    with pytest.raises(CytometryError, match="named by several channels"):
        find_marker_channel(s2, "CD25")


def test_missing_marker_message_lists_channels(tmp_path: Path) -> None:
    s = _sample(tmp_path, ["FSC-A", "SSC-A", "FITC-A", "PE-A", "PerCP-Cy5-5-A"],
                ["", "", "", "CD25 PE", "CD4 PerCP-Cy5.5"])
    with pytest.raises(CytometryError) as info:
        resolve_channels(s)
    msg = str(info.value)
    assert "s.fcs" in msg and "'CD127' not found" in msg
    assert "PE-A (CD25 PE)" in msg and "PerCP-Cy5-5-A (CD4 PerCP-Cy5.5)" in msg


def test_resolve_by_pns_and_free_bead_channel(synthetic_pair) -> None:
    s = read_fcs(synthetic_pair.stained_path)
    cmap = resolve_channels(s)
    assert dict(cmap.markers) == {"CD4": "PerCP-Cy5-5-A", "CD25": "PE-A", "CD127": "APC-A"}
    assert (cmap.fsc, cmap.ssc, cmap.bead) == ("FSC-A", "SSC-A", "FITC-A")
    assert "CD25 PE" in cmap.how["CD25"] and "unstained" in cmap.how["beads"]


def test_bundled_panel(synthetic_pair) -> None:
    p = load_panel("treg-facscanto-ii")
    assert p.version == "1.0" and "D19" in p.source
    assert dict(p.markers) == {"CD4": "PerCP-Cy5-5-A", "CD25": "PE-A", "CD127": "APC-A"}
    assert p.fluorochromes["CD4"] == "PerCP-Cy5.5" and p.bead_channel == "FITC-A"
    # works on the isotype tube too, where $PnS says IgG1 instead of CD25/CD127
    iso = read_fcs(synthetic_pair.isotype_path)
    cmap = resolve_channels(iso, p)
    assert cmap.markers["CD25"] == "PE-A" and "panel treg-facscanto-ii v1.0" in cmap.how["CD25"]
    with pytest.raises(CytometryError, match="marker 'CD25' not found"):
        resolve_channels(iso)


def test_panel_channel_missing_in_file(tmp_path: Path) -> None:
    s = _sample(tmp_path, ["FSC-A", "SSC-A", "PE-A"], ["", "", "CD25"])
    with pytest.raises(CytometryError, match="marker 'CD4' channel 'PerCP-Cy5-5-A' not found"):
        resolve_channels(s, load_panel("treg-facscanto-ii"))


def test_real_file_markers(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "100715.fcs")
    assert find_marker_channel(s, "CD4").pnn == "V655-A"
    assert find_marker_channel(s, "CD127").pnn == "G560-A"
    assert find_marker_channel(s, "CD14").pnn == "V450-A"  # "VIVID / CD14"


def test_panel_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(CytometryError, match="panel file not found"):
        load_panel(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nmarkers: {CD4: PE-A}\n")
    with pytest.raises(CytometryError, match=r"bad\.yaml: source: required: missing"):
        load_panel(bad)
    bad.write_text("version: 1\nsource: me\nmarkers: [CD4]\n")
    with pytest.raises(CytometryError, match="markers: must map"):
        load_panel(bad)
    ok = tmp_path / "ok.yaml"
    ok.write_text("version: 2\nsource: lab SOP 7\nmarkers: {CD4: V-A, CD25: null}\n"
                  "scatter: {fsc: FSC-H, ssc: SSC-H}\n")
    p = load_panel(ok)
    assert dict(p.markers) == {"CD4": "V-A", "CD25": None} and p.fsc == "FSC-H"
    assert p.bead_channel is None and p.name == "ok"


def test_two_markers_on_one_channel(tmp_path: Path) -> None:
    s = _sample(tmp_path, ["FSC-A", "SSC-A", "PE-A", "FITC-A"], ["", "", "CD25", ""])
    panel = Panel("p", "1", "test", {"CD25": None, "CD127": "PE-A"})
    with pytest.raises(CytometryError, match=r"several markers resolve to channel\(s\) \['PE-A'\]"):
        resolve_channels(s, panel)
