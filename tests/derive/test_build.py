"""derive_all and write_csv: files, atomic writing, speed, and the shared helpers."""

from __future__ import annotations

import importlib
import io
import os
from datetime import date

import pandas as pd
import pytest

from saatrial.derive import DATASETS, NOTES_FILE, derive_all, write_csv
from saatrial.derive import build as build_module
from saatrial.derive.common import Column, build_frame, cdisc_study_day, frame_csv_bytes

FILES = ["adsl.csv", "adlb.csv", "adrs.csv", "adtte.csv", "adae.csv", NOTES_FILE]


def test_write_csv_one_file_per_dataset(bundled, tmp_path):
    paths = bundled.write_csv(tmp_path / "out")
    assert [p.name for p in paths] == FILES
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES)
    for name, frame in bundled:
        text = (tmp_path / "out" / f"{name}.csv").read_text(encoding="utf-8")
        assert "\r" not in text and not text.startswith("\ufeff")
        back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        assert list(back.columns) == [c.name for c in DATASETS[name]]
        assert len(back) == len(frame)
        assert not back.isin(["nan", "NaN", "<NA>", "NaT", "None"]).any().any()
    adsl = pd.read_csv(tmp_path / "out" / "adsl.csv", dtype=str, keep_default_na=False)
    row = adsl.set_index("SUBJID").loc["MSC01"]
    assert (row["TRTSDT"], row["BANC"], row["AGE"], row["DTHDT"]) == ("2013-10-08", "0.07", "4", "")
    notes = pd.read_csv(tmp_path / "out" / NOTES_FILE, dtype=str, keep_default_na=False)
    assert list(notes.columns) == ["DATASET", "SUBJID", "MESSAGE"]
    assert len(notes) == len(bundled.notes)


def test_write_csv_refuses_existing_files_unless_overwrite(bundled, tmp_path):
    (tmp_path / "index.html").write_text("report")
    bundled.write_csv(tmp_path)  # a folder with other files is fine
    before = (tmp_path / "adsl.csv").read_bytes()
    with pytest.raises(FileExistsError, match=r"adsl\.csv"):
        write_csv(bundled, tmp_path)
    write_csv(bundled, tmp_path, overwrite=True)
    assert (tmp_path / "adsl.csv").read_bytes() == before  # deterministic bytes
    assert (tmp_path / "index.html").read_text() == "report"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_write_csv_writes_nothing_when_rendering_fails(bundled, tmp_path, monkeypatch):
    def broken(frame, columns):
        raise ValueError("boom")

    monkeypatch.setattr(build_module, "frame_csv_bytes", broken)
    with pytest.raises(ValueError, match="boom"):
        write_csv(bundled, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_write_csv_leaves_no_partial_file_when_a_rename_fails(bundled, tmp_path, monkeypatch):
    real = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)  # used by saatrial.atomic
    with pytest.raises(OSError, match="disk full"):
        write_csv(bundled, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["adlb.csv", "adsl.csv"]  # complete files only, no temporary left


def test_derive_all_is_deterministic(bundled, bundled_study):
    again = derive_all(bundled_study)
    assert again.csv_files() == bundled.csv_files()


def test_every_column_is_documented_in_its_module():
    for name, columns in DATASETS.items():
        module = importlib.import_module(f"saatrial.derive.{name}")
        doc = module.__doc__ or ""
        missing = [c.name for c in columns if f"\n{c.name} " not in doc]
        assert not missing, (name, missing)
        assert len({c.name for c in columns}) == len(columns)


# ----------------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2014, 1, 1), 1),
        (date(2014, 1, 2), 2),
        (date(2013, 12, 31), -1),
        (date(2013, 12, 30), -2),
        (date(2014, 2, 9), 40),
    ],
)
def test_cdisc_study_day(on, expected):
    assert cdisc_study_day(on, date(2014, 1, 1)) == expected


def test_cdisc_study_day_missing():
    assert cdisc_study_day(None, date(2014, 1, 1)) is None
    assert cdisc_study_day(date(2014, 1, 1), None) is None


COLS = (
    Column("T", "text", "t"),
    Column("F", "flag", "f"),
    Column("D", "date", "d"),
    Column("I", "int", "i"),
    Column("X", "float", "x"),
)


def test_build_frame_types_and_csv_text():
    frame = build_frame(
        [
            {"T": "a,b", "F": "Y", "D": date(2014, 1, 2), "I": 3, "X": 15000000.0},
            {"T": None, "X": 0.07},
        ],
        COLS,
    )
    assert [str(t) for t in frame.dtypes] == [
        "string",
        "string",
        "datetime64[ns]",
        "Int64",
        "float64",
    ]
    assert frame_csv_bytes(frame, COLS) == (b'T,F,D,I,X\n"a,b",Y,2014-01-02,3,15000000\n,,,,0.07\n')


def test_build_frame_refuses_unknown_columns_and_bad_flags():
    with pytest.raises(KeyError, match="unknown column"):
        build_frame([{"NOPE": 1}], COLS)
    with pytest.raises(ValueError, match="'Y' or 'N'"):
        build_frame([{"F": "yes"}], COLS)
    with pytest.raises(ValueError, match="kind"):
        Column("A", "decimal", "a")


def test_build_frame_empty_has_the_columns():
    frame = build_frame([], COLS)
    assert list(frame.columns) == ["T", "F", "D", "I", "X"] and frame.empty
