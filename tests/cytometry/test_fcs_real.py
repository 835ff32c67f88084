"""Real instrument FCS files (../shared/data/fcs, values from its README); flowio as reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from saatrial.cytometry import FcsError, read_fcs

# file, FCS version, events, channels, $DATATYPE, spillover present (README table)
README_TABLE = [
    ("100715.fcs", "2.0", 65016, 16, "F", True),
    ("3FITC_4PE_004.fcs", "2.0", 94569, 4, "I", False),
    ("B01_KC-A-W---91-US.fcs", "3.1", 1589, 14, "I", True),
    ("G11.fcs", "3.1", 5785, 12, "F", True),
    ("data1.fcs", "2.0", 13367, 8, "I", False),
    ("variable_int_example.fcs", "3.0", 2, 26, "I", True),
]


@pytest.mark.parametrize(("name", "version", "n_events", "n_channels", "datatype", "spill"),
                         README_TABLE)
def test_readme_counts(
    fcs_dir: Path, name: str, version: str, n_events: int, n_channels: int, datatype: str,
    spill: bool,
) -> None:
    s = read_fcs(fcs_dir / name)
    assert s.version == version
    assert s.n_events == n_events
    assert s.n_channels == n_channels
    assert s.events.shape == (n_events, n_channels)
    assert s.events.dtype == np.float64
    assert s.metadata["datatype"].upper() == datatype
    assert (s.spillover is not None) is spill
    assert s.n_datasets == 1 and s.dataset_index == 0


def test_100715_t_cell_panel(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "100715.fcs")
    assert s.pnn[:3] == ("FSC-A", "FSC-H", "SSC-A")
    markers = set(s.pns)
    for m in ("CD3", "CD4", "CD8", "CD127", "CD27", "CD28", "CD45RO", "CCR7", "KI67"):
        assert m in markers
    assert s.channel("CD4").pnn == "V655-A"  # by $PnS
    assert s.spillover is not None and s.spillover.source == "SPILL"
    assert s.spillover.size == 13 and s.spillover.labels[0] == "B515-A"
    assert all(label in s.pnn for label in s.spillover.labels)


def test_3fitc_channels_and_log_amplification(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "3FITC_4PE_004.fcs")
    assert s.pnn == ("FSC-H", "SSC-H", "FL1-H", "FL2-H")
    fl1 = s.channel("FL1-H")
    assert (fl1.decades, fl1.log_zero, fl1.range) == (4.0, 1.0, 1024.0)  # $PnE 4,0 read as 4,1
    raw = read_fcs(fcs_dir / "3FITC_4PE_004.fcs", preprocess=False)
    # FCS 3.1: value = f2 * 10 ** (f1 * channel / $PnR)
    np.testing.assert_allclose(s.column("FL1-H"), 10 ** (4 * raw.column("FL1-H") / 1024))
    np.testing.assert_array_equal(s.column("FSC-H"), raw.column("FSC-H"))  # linear, no gain


def test_data1_markers_and_gain(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "data1.fcs")
    assert s.pnn == ("FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL2-A", "FL4-H", "Time")
    assert s.pns[2:5] == ("CD4 FITC", "CD8 B PE", "CD3 PerCP")
    assert s.pns[6] == "CD8 APC"
    raw = read_fcs(fcs_dir / "data1.fcs", preprocess=False)
    # linear FSC with $P1G 3.67: scale value = channel / gain
    np.testing.assert_allclose(s.column("FSC-H"), raw.column("FSC-H") / 3.67)


def test_b01_accuri(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "B01_KC-A-W---91-US.fcs")
    assert s.pnn[:6] == ("FSC-A", "SSC-A", "FL1-A", "FL2-A", "FL3-A", "FL4-A")
    assert s.pns[2:6] == ("FITC-A", "PE-A", "PerCP-A", "APC-A")
    assert s.spillover is not None and s.spillover.source == "$SPILLOVER"
    assert s.spillover.labels[:4] == ("FL1-A", "FL2-A", "FL3-A", "FL4-A")
    assert s.spillover.matrix[0, 1] == pytest.approx(0.1203)
    assert s.spillover.matrix[1, 2] == pytest.approx(0.2630)


def test_g11_non_ascii_pns(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "G11.fcs")
    assert s.pnn[:6] == ("Time", "FSC-A", "SSC-A", "BL1-A", "YL2-A", "VL1-A")
    assert s.channel("VL1-A").pns == "Alexa Fluor™ 405-A"
    assert s.channel("Alexa Fluor™ 405-A").pnn == "VL1-A"
    assert s.channel("Time").kind == "time"


def test_variable_integer_widths(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "variable_int_example.fcs")
    bits = [c.bits for c in s.channels]
    assert set(bits) == {16, 32} and bits[-1] == 32 and bits[0] == 16
    assert s.pnn[0] == "FSC LogH" and s.pnn[-2:] == ("Width", "Time")
    # its $TIMESTEP is anonymised to 'xxxxxxxxx': time is left unscaled and that is noted
    assert any("$TIMESTEP" in n for n in s.notes)
    # anonymised spillover label: parsed, but it matches no channel, so compensation refuses
    assert s.spillover is not None and "xxxxxxxxxxxxxxxxxxxxxxxxxxxx" in s.spillover.labels
    with pytest.raises(Exception, match="match no channel"):
        s.compensate()


def test_variable_int_raw_values_match_flowio(fcs_dir: Path) -> None:
    flowio = pytest.importorskip("flowio")
    ref = np.array(flowio.FlowData(fcs_dir / "variable_int_example.fcs").events, dtype=float)
    raw = read_fcs(fcs_dir / "variable_int_example.fcs", preprocess=False)
    np.testing.assert_array_equal(raw.events.ravel(), ref)
    assert raw.events[0, -1] == 8265081  # 32-bit time of the first event


@pytest.mark.parametrize(
    "name", [row[0] for row in README_TABLE if row[0] != "variable_int_example.fcs"]
)
def test_values_match_flowio_as_array(fcs_dir: Path, name: str) -> None:
    """Our numpy DATA reader against flowio's own reader, preprocessing included."""
    flowio = pytest.importorskip("flowio")
    ref = flowio.FlowData(fcs_dir / name).as_array(preprocess=True)
    np.testing.assert_array_equal(read_fcs(fcs_dir / name).events, ref)


def test_coulter_multi_dataset_reads_first(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "coulter.lmd")
    assert s.dataset_index == 0 and s.n_datasets == 2
    assert s.version == "2.0" and s.events.shape == (18110, 8)
    assert s.pnn[:2] == ("FS Lin", "SS Lin")
    assert any("2 data sets" in n for n in s.notes)
    assert any("one byte past" in n for n in s.notes)  # its DATA end offset is off by one
    second = read_fcs(fcs_dir / "coulter.lmd", dataset=1)
    assert second.version == "3.0" and second.events.shape == (18110, 8)
    assert second.pnn[:2] == ("FS", "SS")


@pytest.mark.filterwarnings("ignore:FCS file coulter.lmd reported incorrect data offset")
def test_coulter_values_match_flowio(fcs_dir: Path) -> None:
    flowio = pytest.importorskip("flowio")
    sets = flowio.read_multiple_data_sets(fcs_dir / "coulter.lmd", ignore_offset_error=True)
    for i, fd in enumerate(sets):
        np.testing.assert_allclose(
            read_fcs(fcs_dir / "coulter.lmd", dataset=i).events, fd.as_array(), rtol=1e-12
        )


def test_coulter_no_third_dataset(fcs_dir: Path) -> None:
    with pytest.raises(FcsError, match=r"coulter\.lmd: data set 2 requested but the file holds 2"):
        read_fcs(fcs_dir / "coulter.lmd", dataset=2)


@pytest.mark.parametrize(
    ("name", "what", "numbers"),
    [
        ("data_start_offset_discrepancy_example.fcs", "start", ("5555", "6081")),
        ("data_stop_offset_discrepancy_example.fcs", "end", ("6944", "6188")),
    ],
)
def test_offset_discrepancy_refused(
    fcs_dir: Path, name: str, what: str, numbers: tuple[str, str]
) -> None:
    with pytest.raises(FcsError) as info:
        read_fcs(fcs_dir / name)
    msg = str(info.value)
    assert name in msg
    assert "HEADER and TEXT disagree" in msg and f"DATA {what}" in msg
    assert numbers[0] in msg and numbers[1] in msg


def test_missing_channel_names_file_and_channels(fcs_dir: Path) -> None:
    s = read_fcs(fcs_dir / "data1.fcs")
    with pytest.raises(FcsError) as info:
        s.column("CD25")
    msg = str(info.value)
    assert "data1.fcs" in msg and "'CD25' not found" in msg and "FL1-H (CD4 FITC)" in msg


def test_flowkit_reads_and_compensates_the_same(fcs_dir: Path) -> None:
    """FlowKit (flowio + flowutils) as an independent end-to-end reference for 100715.fcs."""
    fk = pytest.importorskip("flowkit")
    path = fcs_dir / "100715.fcs"
    ours = read_fcs(path).compensate()
    ref = fk.Sample(str(path))
    ref.apply_compensation(ref.metadata["spill"])
    np.testing.assert_allclose(ours.events, ref.get_events(source="comp"), rtol=1e-9, atol=1e-6)


def test_float32_events_on_request(fcs_dir: Path) -> None:
    for name in ("100715.fcs", "data1.fcs"):  # float data; integer data with log amplification
        s64 = read_fcs(fcs_dir / name)
        s32 = read_fcs(fcs_dir / name, dtype=np.float32)
        assert s32.events.dtype == np.float32
        np.testing.assert_allclose(s32.events, s64.events, rtol=1e-6)
    comp = read_fcs(fcs_dir / "100715.fcs", dtype=np.float32).compensate()
    assert comp.events.dtype == np.float32
    with pytest.raises(FcsError, match="dtype must be float64 or float32"):
        read_fcs(fcs_dir / "data1.fcs", dtype=np.int32)  # type: ignore[arg-type]
