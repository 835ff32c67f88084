"""FCS 3.1 writer: files read back with flowio and our reader; HEADER offsets; big files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import CytometryError, Spillover, read_fcs, write_fcs
from saatrial.cytometry.fcs_writer import HEADER_OFFSET_MAX, build_header_and_text

flowio = pytest.importorskip("flowio")


def _events(n: int = 500, p: int = 4) -> np.ndarray:
    rng = np.random.default_rng(5)
    return rng.normal(0, 1000, (n, p)).astype(np.float32).astype(np.float64)


def test_round_trip_flowio_and_ours(tmp_path: Path) -> None:
    ev = _events()
    spill = Spillover.from_matrix(["PE-A", "APC-A"], [[1.0, 0.125], [0.03, 1.0]])
    pns = ["", "CD4/CD8 mix", "CD25 PE", "Alexa Fluor™ 647"]  # '/' is the TEXT delimiter
    p = write_fcs(tmp_path / "rt.fcs", ev, ["FSC-A", "FITC-A", "PE-A", "APC-A"], pns=pns,
                  pnr=[262144, 262144, 262144, 1024.5], spillover=spill,
                  keywords={"$CYT": "test/cytometer", "OPERATOR": "me"})
    fd = flowio.FlowData(p)
    assert fd.version == "3.1"
    assert fd.pnn_labels == ["FSC-A", "FITC-A", "PE-A", "APC-A"]
    assert fd.pns_labels == pns
    assert fd.text["cyt"] == "test/cytometer" and fd.text["datatype"] == "F"
    np.testing.assert_array_equal(fd.as_array(), ev)
    s = read_fcs(p)
    np.testing.assert_array_equal(s.events, ev)
    assert s.pns == tuple(pns) and s.channel("APC-A").range == 1024.5
    assert s.spillover is not None and s.spillover.labels == ("PE-A", "APC-A")
    np.testing.assert_array_equal(s.spillover.matrix, spill.matrix)
    assert s.metadata["operator"] == "me"


def test_header_offsets_match_text(tmp_path: Path) -> None:
    p = write_fcs(tmp_path / "h.fcs", _events(10, 2), ["A", "B"])
    data = p.read_bytes()
    fields = [int(data[10 + 8 * i : 18 + 8 * i]) for i in range(6)]
    text_start, text_end, data_start, data_end = fields[:4]
    assert data[:10] == b"FCS3.1    " and text_start == 58
    assert data_start == text_end + 1 and data_end == len(data) - 1
    assert data_end - data_start + 1 == 10 * 2 * 4
    text = data[text_start : text_end + 1].decode()
    assert f"$BEGINDATA/{data_start}/" in text and f"$ENDDATA/{data_end}/" in text


def test_header_zero_when_data_ends_past_99999999() -> None:
    n = 150_000_000
    header, text, start, end = build_header_and_text({"$PAR": "1", "$TOT": "1"}, n)
    assert len(header) == 58
    assert header[26:42] == b"       0       0"  # FCS 3.1: both DATA offsets 0 in the HEADER
    assert start == 58 + len(text) and end == start + n - 1 > HEADER_OFFSET_MAX
    assert f"$BEGINDATA/{start}/".encode() in text and f"$ENDDATA/{end}/".encode() in text
    # a small segment keeps its offsets in the HEADER
    header2, _, start2, end2 = build_header_and_text({"$PAR": "1"}, 1000)
    assert int(header2[26:34]) == start2 and int(header2[34:42]) == end2


def test_big_file_reads_back(tmp_path: Path) -> None:
    """A real file whose DATA ends past byte 99,999,999 (~103 MB), read by flowio and by us."""
    n_events = 3_200_000
    ev = np.zeros((n_events, 8), dtype=np.float32)
    ev[:, 0] = np.arange(n_events, dtype=np.float32)
    ev[-1, 7] = 42.0
    p = write_fcs(tmp_path / "big.fcs", ev, [f"C{i}" for i in range(8)])
    assert p.stat().st_size > HEADER_OFFSET_MAX
    fd = flowio.FlowData(p, only_text=True)  # flowio accepts zeros in the HEADER for big files
    assert fd.header["data_start"] == 0 and int(fd.text["enddata"]) == p.stat().st_size - 1
    s = read_fcs(p)
    assert s.n_events == n_events and s.events[-1, 0] == n_events - 1 and s.events[-1, 7] == 42.0


def test_replaces_atomically_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.fcs"
    target.write_bytes(b"old")
    write_fcs(target, _events(5, 2), ["A", "B"])
    assert read_fcs(target).n_events == 5
    assert [x.name for x in tmp_path.iterdir()] == ["a.fcs"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": np.zeros((0, 2))}, "n_events >= 1"),
        ({"pnn": ["A", "A"]}, "unique non-empty"),
        ({"pnn": ["A", ""]}, "unique non-empty"),
        ({"pns": ["x"]}, "one value per channel"),
        ({"spillover": Spillover.from_matrix(["X"], [[1.0]])}, "not channels"),
        ({"keywords": {"$TOT": "5"}}, "set by the writer"),
        ({"keywords": {"NOTE": ""}}, "empty keyword values"),
    ],
)
def test_writer_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"events": np.zeros((3, 2)), "pnn": ["A", "B"]} | kwargs
    with pytest.raises(CytometryError, match=message):
        write_fcs(tmp_path / "e.fcs", args.pop("events"), args.pop("pnn"), **args)
    assert not any(tmp_path.iterdir())
