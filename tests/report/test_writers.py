"""write_report: every output file, JSON-safe results, all-or-nothing writing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from saatrial.derive import derive_all
from saatrial.report.model import ReproductionRow
from saatrial.report.writers import (
    json_safe,
    reproduction_csv_bytes,
    results_json_bytes,
    write_report,
)
from saatrial.study import load_bundled_study

from ._r3_support import hand_report


@pytest.fixture(scope="module")
def ads():
    return derive_all(load_bundled_study())


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_writes_every_output(ads, tmp_path):
    report = hand_report()
    files = write_report(report, ads, tmp_path / "out")
    out = tmp_path / "out"
    assert files.out_dir == out
    assert files.index_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert files.report_pdf.read_bytes().startswith(b"%PDF-")
    assert json.loads(files.results_json.read_text()) == {
        "long_term": {"ffs_logrank_p": 0.153, "se": None}
    }
    fig = report.sections[3].figures[0]
    assert (out / "figures" / "figure3_ffs.png").read_bytes() == fig.png
    assert (out / "figures" / "figure3_ffs.svg").read_text() == fig.svg
    assert files.figures == (out / "figures/figure3_ffs.png", out / "figures/figure3_ffs.svg")
    assert [p.name for p in files.adam] == [
        "adae.csv", "adlb.csv", "adrs.csv", "adsl.csv", "adtte.csv", "derive_notes.csv",
    ]
    assert (out / "adam" / "adsl.csv").read_bytes() == ads.csv_files()["adsl.csv"]
    assert files.reproduction_csv is None and not (out / "reproduction.csv").exists()
    # nothing but the report; no temporary folder left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_rewrite_replaces_report_files_keeps_others_and_drops_stale(ads, tmp_path):
    out = tmp_path / "out"
    report = hand_report()
    report.reproduction = [ReproductionRow("relapse", 0, 0, 0.0, "exact", True)]
    write_report(report, ads, out)
    assert (out / "reproduction.csv").exists()
    (out / "mine.txt").write_text("keep me")
    (out / "figures" / "old_figure.png").write_bytes(b"stale")
    report2 = hand_report()
    report2.results = {"n": 2}
    write_report(report2, ads, out)
    assert (out / "mine.txt").read_text() == "keep me"
    assert not (out / "reproduction.csv").exists()  # stale: this run has no reference
    assert not (out / "figures" / "old_figure.png").exists()  # figures/ swapped whole
    assert json.loads((out / "results.json").read_text()) == {"n": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_same_report_same_bytes(ads, tmp_path):
    a = write_report(hand_report(), ads, tmp_path / "a")
    b = write_report(hand_report(), ads, tmp_path / "b")
    assert _listing(a.out_dir) == _listing(b.out_dir)
    for rel in _listing(a.out_dir):
        pa, pb = a.out_dir / rel, b.out_dir / rel
        if pa.is_file():
            assert pa.read_bytes() == pb.read_bytes(), rel


def test_render_error_writes_nothing(ads, tmp_path):
    with pytest.raises(ValueError, match="figure figure3_ffs: png"):
        write_report(hand_report(png=b"broken"), ads, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_result_writes_nothing_and_names_the_key(ads, tmp_path):
    report = hand_report()
    report.results = {"long_term": {"km": object()}}
    with pytest.raises(TypeError, match=r"results\.long_term\.km: no JSON form for a object"):
        write_report(report, ads, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_writing_leaves_no_half_report(ads, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_report(hand_report(), ads, out)
    before = {rel: (out / rel).read_bytes() for rel in _listing(out) if (out / rel).is_file()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(ads), "write_csv", boom)
    report = hand_report()
    report.results = {"changed": True}
    with pytest.raises(OSError, match="disk full"):
        write_report(report, ads, out)
    after = {rel: (out / rel).read_bytes() for rel in _listing(out) if (out / rel).is_file()}
    assert after == before  # the old report is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # temp folder removed


def test_out_is_a_file(ads, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        write_report(hand_report(), ads, target)


def test_json_safe_cases():
    value = {
        "nan": float("nan"),
        "inf": math.inf,
        "np": np.float64(0.5),
        "int": np.int64(3),
        "bool": np.bool_(True),
        "na": pd.NA,
        "date": pd.Timestamp("2018-04-13"),
        "tuple": (1, (2, 3)),
        "array": np.array([1.0, np.nan]),
        7: "key",
    }
    assert json_safe(value) == {
        "nan": None,
        "inf": None,
        "np": 0.5,
        "int": 3,
        "bool": True,
        "na": None,
        "date": "2018-04-13",
        "tuple": [1, [2, 3]],
        "array": [1.0, None],
        "7": "key",
    }
    text = results_json_bytes(value).decode()
    assert "NaN" not in text and text.endswith("}\n")


def test_reproduction_csv():
    rows = [
        ReproductionRow("long_term.follow_up_range_months", [5, 54], [5.0, 54.0], 0.0, "exact",
                        True),
        ReproductionRow("long_term.gvhd", "grade 3 gut", None, None, "meaning", False, "no data"),
    ]
    assert reproduction_csv_bytes(rows).decode() == (
        "key,published,reproduced,difference,tolerance,passed,note\n"
        'long_term.follow_up_range_months,"[5, 54]","[5.0, 54.0]",0,exact,Y,\n'
        "long_term.gvhd,grade 3 gut,,,meaning,N,no data\n"
    )
