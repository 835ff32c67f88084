"""Malformed FCS files are refused with a message naming the file and the problem.

Each case starts from a valid file written by our FCS 3.1 writer and breaks
one thing in it (same byte length where the TEXT is edited, so offsets stay valid).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import FcsError, read_fcs, write_fcs


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    return write_fcs(tmp_path / "good.fcs", rng.normal(1000, 100, (200, 3)),
                     ["FSC-A", "SSC-A", "PE-A"], pns=["", "", "CD25"])


def _edit(src: Path, old: bytes, new: bytes, name: str) -> Path:
    assert len(old) == len(new)
    data = src.read_bytes()
    assert data.count(old) == 1, old
    out = src.with_name(name)
    out.write_bytes(data.replace(old, new))
    return out


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(FcsError) as info:
        read_fcs(path)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_good_file_reads(good: Path) -> None:
    s = read_fcs(good)
    assert s.n_events == 200 and s.notes == ()


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.fcs", "file not found")


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.fcs"
    p.write_bytes(b"")
    _refused(p, "truncated", "58-byte FCS HEADER")


def test_not_fcs(tmp_path: Path) -> None:
    p = tmp_path / "notes.fcs"
    p.write_text("subject,visit\n" * 10)
    _refused(p, "not an FCS file", "'subjec'")


@pytest.mark.parametrize("keep", [40, 200, 1000, 2739])  # in HEADER, TEXT, DATA; last byte
def test_truncated(good: Path, keep: int) -> None:
    data = good.read_bytes()
    assert len(data) == 2740 and data[:58].split()[2:4] == [b"339", b"340"]
    p = good.with_name(f"cut{keep}.fcs")
    p.write_bytes(data[:keep])
    _refused(p, "truncated")


def test_unknown_datatype(good: Path) -> None:
    _refused(_edit(good, b"$DATATYPE/F/", b"$DATATYPE/X/", "x.fcs"), "unknown $DATATYPE 'X'")


def test_ascii_datatype_unsupported(good: Path) -> None:
    _refused(_edit(good, b"$DATATYPE/F/", b"$DATATYPE/A/", "a.fcs"), "$DATATYPE A (ASCII)")


def test_histogram_mode_unsupported(good: Path) -> None:
    _refused(_edit(good, b"$MODE/L/", b"$MODE/U/", "u.fcs"), "$MODE 'U'")


def test_unsupported_byte_order(good: Path) -> None:
    _refused(_edit(good, b"$BYTEORD/1,2,3,4/", b"$BYTEORD/3,4,1,2/", "b.fcs"), "$BYTEORD '3,4,1,2'")


def test_tot_larger_than_data(good: Path) -> None:
    _refused(_edit(good, b"$TOT/200/", b"$TOT/900/", "tot.fcs"), "$TOT 900 events", "needs")


def test_bits_inconsistent_with_float(good: Path) -> None:
    _refused(_edit(good, b"$P1B/32/", b"$P1B/16/", "bits.fcs"), "$P1B is 16", "needs 32 bits")


def test_missing_required_keyword(good: Path) -> None:
    _refused(_edit(good, b"$PAR/", b"$PAX/", "par.fcs"), "$PAR missing")


def test_header_text_offsets_disagree(good: Path) -> None:
    data = bytearray(good.read_bytes())
    start = int(data[26:34])
    data[26:34] = f"{start + 8:>8d}".encode()
    p = good.with_name("offsets.fcs")
    p.write_bytes(bytes(data))
    _refused(p, "HEADER and TEXT disagree", f"{start + 8} (HEADER) vs {start} (TEXT)")


def test_missing_channel(good: Path) -> None:
    s = read_fcs(good)
    with pytest.raises(FcsError, match=r"good\.fcs: channel 'APC-A' not found; channels are: "
                                       r"FSC-A, SSC-A, PE-A \(CD25\)"):
        s.column("APC-A")


def test_compensate_without_matrix(good: Path) -> None:
    s = read_fcs(good)
    with pytest.raises(ValueError, match=r"good\.fcs: no spillover matrix"):
        s.compensate()
