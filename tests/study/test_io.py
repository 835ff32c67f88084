"""StudyData: typing, CSV and XLSX round trips, reader errors, atomic writers, bundled study."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from saatrial.study import (
    StudyData,
    StudyDataError,
    load_bundled_study,
    load_dictionary,
    validate,
    xlsxio,
)
from saatrial.study import data as data_module

from . import append_csv, edit_csv, tree_snapshot, valid_records, valid_study

BUNDLED = Path(data_module.__file__).parent / "bundled" / "nct02218437"


@pytest.fixture
def study() -> StudyData:
    return valid_study()


@pytest.fixture
def folder(tmp_path: Path, study: StudyData) -> Path:
    return study.write_csv(tmp_path / "study")


def assert_same_study(a: StudyData, b: StudyData) -> None:
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        pdt.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def csv_texts(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


# --- typing --------------------------------------------------------------------------------
def test_dtypes_follow_common_conventions(study):
    subjects, screening, labs = study["subjects"], study["screening"], study["labs"]
    assert str(subjects["birth_date"].dtype) == "datetime64[ns]"
    assert str(subjects["weight_kg"].dtype) == "float64"
    assert isinstance(subjects["sex"].dtype, pd.StringDtype)
    assert isinstance(subjects["subject_id"].dtype, pd.StringDtype)
    assert str(screening["lansky"].dtype) == "Int64"
    assert str(screening["hla_matched_sibling"].dtype) == "boolean"
    assert list(labs.columns) == list(load_dictionary().tables["labs"].field_names)
    # missing values are NA of the column's type
    assert pd.isna(subjects.loc[1, "height_cm"])
    assert screening["ecog"].isna().all()
    assert labs.loc[0, "pre_transfusion"] is pd.NA
    assert bool(labs.loc[3, "pre_transfusion"]) is True
    assert subjects.loc[0, "birth_date"] == pd.Timestamp("2009-05-10")
    assert labs.loc[0, "value"] == 0.07


def test_every_table_present_even_when_empty():
    s = StudyData.empty()
    assert set(s.tables) == set(load_dictionary().tables)
    assert all(len(df) == 0 for df in s.tables.values())
    assert str(s["labs"]["lab_date"].dtype) == "datetime64[ns]"


def test_access_helpers(study):
    assert study.subject_ids == ("S01", "S02", "S03")
    assert "labs" in study and "lab" not in study
    with pytest.raises(KeyError, match="unknown table 'lab'"):
        study["lab"]
    clone = study.copy()
    clone["subjects"].loc[0, "weight_kg"] = 99.0
    assert study["subjects"].loc[0, "weight_kg"] == 20.0
    smaller = study.with_table("labs", study["labs"].iloc[:2].reset_index(drop=True))
    assert len(smaller["labs"]) == 2 and len(study["labs"]) == 11


def test_construction_refuses_wrong_columns_and_dtypes(study):
    tables = dict(study.tables)
    tables["labs"] = tables["labs"].astype({"value": "object"})
    with pytest.raises(StudyDataError) as err:
        StudyData(tables)
    assert str(err.value) == "labs.csv:1: value: dtype (must be float64): object"
    tables = dict(study.tables)
    tables["sites"] = tables["sites"][["name", "site_id", "country"]]
    with pytest.raises(StudyDataError, match=r"sites\.csv:1: \*: columns"):
        StudyData(tables)
    tables = dict(study.tables)
    del tables["labs"]
    with pytest.raises(StudyDataError, match=r"labs\.csv:0: \*: missing_table"):
        StudyData(tables)


def test_from_records_accepts_python_values():
    records = valid_records()
    row = records["subjects"][0]
    row.update(birth_date=dt.date(2009, 5, 10), weight_kg=20, consent_date=dt.datetime(2014, 1, 20))
    records["screening"][0]["hla_matched_sibling"] = False
    records["screening"][0]["lansky"] = 80.0
    assert_same_study(StudyData.from_records(records), valid_study())


# --- CSV -----------------------------------------------------------------------------------
def test_csv_round_trip_equal_and_byte_stable(tmp_path, study, folder):
    back = StudyData.read(folder)
    assert_same_study(study.canonical(), back)
    assert back.source == str(folder)
    again = back.write_csv(tmp_path / "again")
    assert csv_texts(again) == csv_texts(folder)
    assert len(csv_texts(folder)) == len(load_dictionary().tables)


def test_canonical_csv_format_written_out_by_hand(folder):
    # expected bytes written by hand from common.md: no BOM, \n, minimal quoting,
    # dictionary field order, rows sorted by key, numbers as format(x, ".10g")
    assert (folder / "sites.csv").read_bytes() == (
        b"site_id,name,country\n"
        b'BJ,"Hospital ""North"", Beijing",CN\n'
        b"TJ,Institute of Hematology,CN\n"
    )
    assert (folder / "dose_levels.csv").read_bytes() == (
        b"arm_id,dose_level_id,label,msc_dose_1e6_cells_per_kg\n"
        b"CONTROL,NONE,no UC-MSC,\n"
        b"MSC,MSC-1,UC-MSC 1 x 10^6 cells/kg weekly x 3,1\n"
    )
    exposures = (folder / "exposures.csv").read_text(encoding="utf-8").split("\n")
    assert exposures[3] == "S01,UCMSC,2014-02-04,2014-02-04,20000000,cells,ONCE,20"
    assert exposures[6] == "S02,CSA,2014-02-24,2014-08-23,37.5,mg,Q12H,15"
    screening = (folder / "screening.csv").read_text(encoding="utf-8").split("\n")
    assert screening[2] == "S02,2014-02-17,NEG,ND,NEG,,N,,70"
    for path in folder.glob("*.csv"):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw, path.name


def test_writer_sorts_rows_by_key(tmp_path, folder):
    records = valid_records()
    shuffled = {name: list(reversed(rows)) for name, rows in records.items()}
    out = StudyData.from_records(shuffled).write_csv(tmp_path / "shuffled")
    assert csv_texts(out) == csv_texts(folder)


def test_number_formatting_edges(tmp_path):
    records = valid_records()
    records["labs"][0]["value"] = "0.1234567890123"  # more than 10 significant digits
    records["tcell_subsets"][0]["cd4_per_ul"] = "1.5e3"
    out = StudyData.from_records(records).write_csv(tmp_path / "s")
    labs = (out / "labs.csv").read_text().split("\n")
    assert labs[1] == "S01,2014-01-21,ANC,0.123456789,10^9/L,1.5,7,"
    assert (out / "tcell_subsets.csv").read_text().split("\n")[1].split(",")[5] == "1500"


def test_reader_accepts_bom_crlf_column_order_and_missing_optional_column(tmp_path, study, folder):
    path = folder / "subjects.csv"
    header, *rows = path.read_text(encoding="utf-8").strip("\n").split("\n")
    cols = header.split(",")
    order = list(reversed(range(len(cols))))
    order.remove(cols.index("height_cm"))  # optional column left out
    text = "\r\n".join(",".join(line.split(",")[i] for i in order) for line in [header, *rows])
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8") + b"\r\n\r\n")
    back = StudyData.read(folder)
    expected = study.canonical()["subjects"].assign(height_cm=np.nan)
    pdt.assert_frame_equal(back["subjects"], expected, check_exact=True)


def test_reader_accepts_semicolons_blank_lines_and_loose_booleans(tmp_path, folder):
    (folder / "transfusions.csv").write_text(
        "subject_id;transfusion_date;product;volume_ml\n\nS01;2014-01-25;PLT;200\n"
        "S02;2014-02-20 00:00:00; RBC ;150\n",
        encoding="utf-8",
    )
    edit_csv(folder, "screening", 2, hla_matched_sibling="no")
    back = StudyData.read(folder)
    assert back["transfusions"]["product"].tolist() == ["PLT", "RBC"]
    assert back.lines["transfusions"] == (3, 4)
    assert back["screening"]["hla_matched_sibling"].tolist() == [False, False, False]


def test_missing_optional_file_gives_empty_table(folder):
    (folder / "tcell_subsets.csv").unlink()
    back = StudyData.read(folder)
    assert len(back["tcell_subsets"]) == 0
    assert tuple(back["tcell_subsets"].columns) == load_dictionary().tables[
        "tcell_subsets"
    ].field_names


def test_missing_required_file_is_an_error(folder):
    (folder / "dose_levels.csv").unlink()
    with pytest.raises(StudyDataError) as err:
        StudyData.read(folder)
    assert [str(p) for p in err.value.problems] == [
        "dose_levels.csv:0: *: missing_table (required table dose_levels): "
    ]


def test_unknown_column_and_unknown_file_are_errors(folder):
    path = folder / "arms.csv"
    lines = path.read_text().split("\n")
    lines[0] += ",colour"
    lines[1] += ",red"
    lines[2] += ",blue"
    path.write_text("\n".join(lines))
    (folder / "adverse_event.csv").write_text("subject_id\n")
    with pytest.raises(StudyDataError) as err:
        StudyData.read(folder)
    assert [str(p) for p in err.value.problems] == [
        "adverse_event.csv:0: *: unknown_table (not a dictionary table file): adverse_event.csv",
        "arms.csv:1: colour: unknown_column (not in the dictionary table arms): colour",
    ]


def test_parse_errors_are_collected_all_at_once(folder):
    edit_csv(folder, "subjects", 3, birth_date="2006/02/01")  # bad date
    edit_csv(folder, "subjects", 4, weight_kg="thirty")  # not a number
    edit_csv(folder, "subjects", 2, sex="X")  # unknown code
    edit_csv(folder, "labs", 8, value="250")  # ANC hard range [0, 100]
    edit_csv(folder, "screening", 2, lansky="80.5")  # not an integer
    edit_csv(folder, "screening", 3, hla_matched_sibling="maybe")  # not a boolean
    with pytest.raises(StudyDataError) as err:
        StudyData.read(folder)
    assert sorted(str(p) for p in err.value.problems) == sorted([
        "subjects.csv:3: birth_date: type date (YYYY-MM-DD): 2006/02/01",
        "subjects.csv:4: weight_kg: type number: thirty",
        "screening.csv:2: lansky: type integer: 80.5",
        "screening.csv:3: hla_matched_sibling: type boolean (Y/N): maybe",
        "subjects.csv:2: sex: codes {M, F}: X",
        "labs.csv:8: value: hard_range [0, 100]: 250",
    ])  # fmt: skip
    assert all(p.is_error for p in err.value.problems)
    assert {p.severity.value for p in err.value.problems} == {"error"}


def test_impossible_dates_are_type_errors(folder):
    edit_csv(folder, "subjects", 2, birth_date="2014-02-30")
    edit_csv(folder, "subjects", 3, birth_date="0206-02-01")
    with pytest.raises(StudyDataError) as err:
        StudyData.read(folder)
    assert [p.value for p in err.value.problems] == ["2014-02-30", "0206-02-01"]


def test_row_numbers_are_source_lines(folder):
    # a quoted newline makes a record span two lines; blank lines are counted
    path = folder / "sites.csv"
    path.write_text(
        'site_id,name,country\n\nBJ,"Hospital\nNorth",CN\nTJ,Institute,CNN\n', encoding="utf-8"
    )
    back = StudyData.read(folder)
    assert back.lines["sites"] == (3, 5)
    assert back["sites"]["name"].tolist() == ["Hospital\nNorth", "Institute"]


def test_wrong_cell_count_is_an_error(folder):
    path = folder / "arms.csv"
    path.write_text("arm_id,label,description\nCONTROL,IST alone\nMSC,UC-MSC + IST,x\n")
    with pytest.raises(StudyDataError) as err:
        StudyData.read(folder)
    assert str(err.value) == "arms.csv:2: *: field_count (header has 3): 2"


def test_not_a_study(tmp_path):
    with pytest.raises(StudyDataError, match="not_found"):
        StudyData.read(tmp_path / "nowhere")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(StudyDataError, match=r"x\.txt:0: \*: format"):
        StudyData.read(tmp_path / "x.txt")


def test_reader_never_writes_when_it_fails(tmp_path, folder):
    edit_csv(folder, "labs", 2, value="-1")
    append_csv(folder, "labs", subject_id="S09", lab_date="2014-13-01", test="XYZ")
    before = tree_snapshot(tmp_path)
    with pytest.raises(StudyDataError):
        StudyData.read(folder)
    assert tree_snapshot(tmp_path) == before
    book = tmp_path / "bad.xlsx"
    book.write_bytes(b"not a zip")
    before = tree_snapshot(tmp_path)
    with pytest.raises(StudyDataError, match="unreadable"):
        StudyData.read(book)
    assert tree_snapshot(tmp_path) == before


# --- XLSX ----------------------------------------------------------------------------------
def test_xlsx_round_trip_exact(tmp_path, study, folder):
    book = study.write_xlsx(tmp_path / "study.xlsx")
    back = StudyData.read(book)
    assert_same_study(study.canonical(), back)
    assert back.file_label("labs") == "study.xlsx[labs]"
    # CSV -> XLSX -> CSV is byte-identical
    out = StudyData.read(book).write_csv(tmp_path / "from_xlsx")
    assert csv_texts(out) == csv_texts(folder)


def test_xlsx_uses_native_cells(tmp_path, study):
    import openpyxl

    book = study.write_xlsx(tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == list(load_dictionary().tables)
    ws = wb["subjects"]
    assert [c.value for c in ws[1]][:3] == ["subject_id", "site_id", "arm_id"]
    assert ws["F2"].value == dt.datetime(2009, 5, 10) and ws["F2"].number_format == "yyyy-mm-dd"
    assert ws["H2"].value == 20 and ws["I3"].value is None
    assert wb["screening"]["G2"].value == "N"


def test_xlsx_text_that_looks_like_a_formula_stays_text(tmp_path):
    records = valid_records()
    records["adverse_events"][0]["verbatim_term"] = "=HYPERLINK(1)"
    book = StudyData.from_records(records).write_xlsx(tmp_path / "s.xlsx")
    assert StudyData.read(book)["adverse_events"].loc[0, "verbatim_term"] == "=HYPERLINK(1)"


def test_xlsx_read_errors_name_sheet_and_row(tmp_path, study):
    import openpyxl

    book = study.write_xlsx(tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    wb["labs"]["D3"] = 1000  # ARC hard range [0, 1000] -> allowed
    wb["labs"]["D4"] = 251  # HGB hard range [10, 250]
    wb["subjects"]["F3"] = "yesterday"
    wb.create_sheet("notes")
    wb.save(book)
    with pytest.raises(StudyDataError) as err:
        StudyData.read(book)
    assert [str(p) for p in err.value.problems] == [
        "s.xlsx[notes]:0: *: unknown_table (not a dictionary table sheet): notes",
        "s.xlsx[subjects]:3: birth_date: type date (YYYY-MM-DD): yesterday",
        "s.xlsx[labs]:4: value: hard_range [10, 250]: 251",
    ]


def test_xlsx_missing_required_sheet(tmp_path, study):
    import openpyxl

    book = study.write_xlsx(tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(book)
    del wb["arms"]
    wb.save(book)
    with pytest.raises(StudyDataError, match=r"s.xlsx\[arms\]:0: \*: missing_table"):
        StudyData.read(book)


# --- atomic writers ------------------------------------------------------------------------
def test_write_csv_refuses_non_empty_folder_unless_overwrite(tmp_path, study, folder):
    (folder / "PROVENANCE.md").write_text("kept")
    with pytest.raises(FileExistsError, match="not empty"):
        study.write_csv(folder)
    changed = study.copy()
    changed["sites"].loc[1, "name"] = "Tianjin"
    changed.write_csv(folder, overwrite=True)
    assert (folder / "PROVENANCE.md").read_text() == "kept"
    assert b"TJ,Tianjin,CN" in (folder / "sites.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no temp left


def test_write_csv_failing_midway_leaves_no_target(tmp_path, study, monkeypatch):
    calls = {"n": 0}
    real = Path.write_bytes

    def flaky(self, data):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    with pytest.raises(OSError, match="disk full"):
        study.write_csv(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_write_csv_failing_midway_keeps_old_folder(tmp_path, study, folder, monkeypatch):
    before = tree_snapshot(tmp_path)
    original = csv_texts(folder)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", broken)
    changed = study.copy()
    changed["sites"].loc[1, "name"] = "Tianjin"
    with pytest.raises(OSError):
        changed.write_csv(folder, overwrite=True)
    assert csv_texts(folder) == original
    assert tree_snapshot(tmp_path) == before


def test_write_xlsx_failing_midway_leaves_nothing(tmp_path, study, monkeypatch):
    def half(tables, dictionary, target):
        Path(target).write_bytes(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(data_module, "write_xlsx_file", half)
    with pytest.raises(OSError):
        study.write_xlsx(tmp_path / "s.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_write_xlsx_refuses_existing_unless_overwrite(tmp_path, study):
    book = study.write_xlsx(tmp_path / "s.xlsx")
    with pytest.raises(FileExistsError):
        study.write_xlsx(book)
    study.write_xlsx(book, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.xlsx"]
    with pytest.raises(ValueError, match=r"\.xlsx suffix"):
        study.write_xlsx(tmp_path / "s.csv")


def test_xlsx_module_labels():
    assert xlsxio.sheet_label("/a/b/trial.xlsx", "labs") == "trial.xlsx[labs]"


# --- bundled study -------------------------------------------------------------------------
def _bundled_present() -> bool:
    return BUNDLED.is_dir() and any(BUNDLED.glob("*.csv"))


@pytest.mark.skipif(not _bundled_present(), reason=f"bundled study not written yet: {BUNDLED}")
def test_bundled_study_reads_validates_and_rewrites_byte_for_byte(tmp_path):
    study = load_bundled_study()  # load time: benchmarks/bench_study.py
    assert study.source == "bundled:nct02218437"
    out = study.write_csv(tmp_path / "copy")
    assert csv_texts(out) == csv_texts(BUNDLED)
    report = validate(study)
    assert report.errors == (), "\n".join(map(str, report.errors))


def test_unknown_bundled_study():
    with pytest.raises(FileNotFoundError, match="no bundled study 'nope'"):
        load_bundled_study("nope")
