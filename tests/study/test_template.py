"""The empty-study template: header-only CSVs and a field guide generated from the dictionary."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from saatrial.study import StudyData, load_dictionary, validate, validate_path, write_template
from saatrial.study.template import FIELD_GUIDE, field_guide

from . import tree_snapshot


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return write_template(tmp_path / "new_study")


def test_one_header_only_csv_per_table(template):
    d = load_dictionary()
    names = sorted(p.name for p in template.iterdir())
    assert names == sorted([f"{t}.csv" for t in d.tables] + [FIELD_GUIDE])
    for name, spec in d.tables.items():
        with (template / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows == [list(spec.field_names)], name
        assert (template / f"{name}.csv").read_bytes().endswith(b"\n")


def test_guide_mentions_every_table_field_and_lab_test(template):
    guide = (template / FIELD_GUIDE).read_text(encoding="utf-8")
    d = load_dictionary()
    for name, spec in d.tables.items():
        assert f"## {name} (`{name}.csv`)" in guide
        section = guide.split(f"## {name} (`{name}.csv`)")[1].split("\n## ")[0]
        for fname in spec.field_names:
            assert f"\n| {fname} |" in section, f"{name}.{fname}"
    for code in d.lab_tests:
        assert f"\n| {code} |" in guide


def test_guide_rows_carry_type_unit_required_ranges_codes_and_meaning():
    guide = field_guide()
    # written by hand from dictionary.yaml
    assert (
        "| weight_kg | number | kg | yes | 1 to 200 | 3 to 120 |  |  | Body weight at baseline. |"
        in guide
    )
    assert "| sex | code |  | yes |  |  | `M` male; `F` female |  | Sex at birth. |" in guide
    assert "| test | code |  | yes |  |  | see lab_tests below |  |" in guide
    assert "| subject_id | text |  | yes |  |  |  | subjects.subject_id | Subject. |" in guide
    assert "| HGB | haemoglobin | g/L | 10 to 250 | 30 to 200 |" in guide
    assert "| birth_date | date YYYY-MM-DD |" in guide
    assert "| hla_matched_sibling | Y/N |" in guide
    assert "Rows may not be dated before the subject's consent." in guide


def test_template_reads_back_as_an_empty_study(template):
    study = StudyData.read(template)
    assert all(len(frame) == 0 for frame in study.tables.values())
    assert set(study.tables) == set(load_dictionary().tables)
    # the only thing an empty study lacks is its study row
    assert [p.rule for p in validate(study).problems] == ["one_row"]
    assert [p.rule for p in validate_path(template).problems] == ["one_row"]


def test_refuses_a_non_empty_folder(tmp_path, template):
    before = tree_snapshot(tmp_path)
    with pytest.raises(FileExistsError, match="not empty"):
        write_template(template)
    assert tree_snapshot(tmp_path) == before


def test_overwrite_replaces_template_files_and_keeps_others(tmp_path, template):
    (template / "labs.csv").write_text("junk")
    (template / "notes.txt").write_text("mine")
    write_template(template, overwrite=True)
    assert (template / "labs.csv").read_text() == "subject_id,lab_date,test,value,unit,lln,uln," \
        "pre_transfusion\n"
    assert (template / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new_study"]


def test_empty_existing_folder_is_fine(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    write_template(target)
    assert (target / FIELD_GUIDE).is_file()
