"""Validation: one broken value per rule, checked against hand-written messages.

Each case takes the valid fixture study (tests/study/__init__.py) written as
canonical CSV, breaks one value (occasionally two, said why) in the file, runs
``validate_path`` and compares the complete list of problems with the messages
written by hand from the rule text: ``file:row: field: rule: value``. Line
numbers are those of the fixture tables (header = line 1, rows in key order).

Doses, worked by hand from NCT02218437: S02 weighs 15 kg, rATG 3 mg/kg ->
45 mg, tolerance 10 % -> [40.5, 49.5] mg; S02 CsA 2.5 mg/kg per 12 h ->
37.5 mg -> [33.75, 41.25]; S01 weighs 20 kg, UC-MSC 1e6 cells/kg -> 2e7 cells
-> [1.8e7, 2.2e7].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from saatrial.protocol import load_protocol
from saatrial.study import (
    Problem,
    StudyData,
    ValidationReport,
    validate,
    validate_path,
)
from saatrial.study.checks import RULES

from . import append_csv, delete_csv_line, edit_csv, valid_study

Edit = Callable[[Path], object]


@dataclasses.dataclass(frozen=True)
class Case:
    rule: str
    edit: Edit
    expected: tuple[str, ...]  # every problem, as printed
    ok: bool = False  # no hard error (warnings only)


def e(table: str, line: int, **changes: str) -> Edit:
    return lambda folder: edit_csv(folder, table, line, **changes)


def steps(*edits: Edit) -> Edit:
    def run(folder: Path) -> None:
        for edit in edits:
            edit(folder)

    return run


CASES: list[Case] = [
    Case("required", e("subjects", 3, weight_kg=""), ("subjects.csv:3: weight_kg: required: ",)),
    Case("required", e("adverse_events", 2, ctcae_term=""),
         ("adverse_events.csv:2: ctcae_term: required: ",)),
    # a cell that does not parse is reported once (not also as `required`)
    Case("type", e("labs", 6, lab_date="2014-3-2"),
         ("labs.csv:6: lab_date: type date (YYYY-MM-DD): 2014-3-2",)),
    Case("type", e("adverse_events", 3, grade="3.5"),
         ("adverse_events.csv:3: grade: type integer: 3.5",)),
    Case("codes", e("subjects", 2, sex="X"), ("subjects.csv:2: sex: codes {M, F}: X",)),
    Case("codes", e("response_assessments", 3, response="VGPR"),
         ("response_assessments.csv:3: response: codes {CR, PR, NR, NE}: VGPR",)),
    Case("hard_range", e("tcell_subsets", 2, cd3cd4_pct="101"),
         ("tcell_subsets.csv:2: cd3cd4_pct: hard_range [0, 100]: 101",)),
    Case("hard_range", e("adverse_events", 2, grade="0"),
         ("adverse_events.csv:2: grade: hard_range [1, 5]: 0",)),
    # lab values: ranges per test (ANC hard [0, 100]); the example of common.md
    Case("hard_range", e("labs", 2, value="250"), ("labs.csv:2: value: hard_range [0, 100]: 250",)),
    Case("hard_range", e("labs", 4, value="9.9"),
         ("labs.csv:4: value: hard_range [10, 250]: 9.9",)),
    Case("soft_range", e("subjects", 3, height_cm="210"),
         ("subjects.csv:3: height_cm: soft_range [45, 200]: 210",), ok=True),
    Case("soft_range", e("labs", 4, value="205"),
         ("labs.csv:4: value: soft_range [30, 200]: 205",), ok=True),
    Case("lab_unit", e("labs", 4, unit="g/dL"), ("labs.csv:4: unit: lab_unit (HGB in g/L): g/dL",)),
    Case("unique_key", e("labs", 3, test="ANC"),
         ("labs.csv:3: subject_id+lab_date+test: unique_key (same key as row 2): "
          "S01|2014-01-21|ANC",)),
    Case("references", e("labs", 12, subject_id="S09"),
         ("labs.csv:12: subject_id: references subjects.subject_id: S09",)),
    Case("references", e("subjects", 2, site_id="XX"),
         ("subjects.csv:2: site_id: references sites.site_id: XX",)),
    Case("one_row", lambda f: delete_csv_line(f, "study", 2),
         ("study.csv:1: *: one_row (exactly one study row): 0 rows",)),
    # S02 is in CONTROL; MSC-1 is a dose level of MSC (in the data and in the protocol)
    Case("dose_level_arm", e("subjects", 3, dose_level_id="MSC-1"),
         ("subjects.csv:3: dose_level_id: dose_level_arm (not a dose level of arm CONTROL): MSC-1",
          "subjects.csv:3: dose_level_id: arm_in_protocol (protocol dose levels of CONTROL: NONE): "
          "MSC-1")),
    Case("date_order", e("subjects", 2, consent_date="2013-12-31"),
         ("subjects.csv:2: consent_date: date_order diagnosis_date (2014-01-02) <= consent_date: "
          "2013-12-31",)),
    # birth_date < diagnosis_date is strict: the same day is an error
    Case("date_order", e("subjects", 2, birth_date="2014-01-02"),
         ("subjects.csv:2: diagnosis_date: date_order birth_date (2014-01-02) < diagnosis_date: "
          "2014-01-02",)),
    Case("date_order", e("exposures", 3, end_date="2014-01-21"),
         ("exposures.csv:3: end_date: date_order start_date (2014-01-22) <= end_date: "
          "2014-01-21",)),
    Case("date_order", e("adverse_events", 3, end_date="2014-01-22"),
         ("adverse_events.csv:3: end_date: date_order start_date (2014-01-23) <= end_date: "
          "2014-01-22",)),
    Case("before_consent", e("tcell_subsets", 2, sample_date="2014-01-19"),
         ("tcell_subsets.csv:2: sample_date: before_consent (consent 2014-01-20): 2014-01-19",)),
    Case("before_consent", e("response_assessments", 5, assessment_date="2014-03-09"),
         ("response_assessments.csv:5: assessment_date: before_consent (consent 2014-03-10): "
          "2014-03-09",)),
    Case("after_death", e("labs", 12, lab_date="2014-08-11"),
         ("labs.csv:12: lab_date: after_death (death 2014-08-10): 2014-08-11",)),
    Case("after_death",
         lambda f: append_csv(f, "outcome_events", subject_id="S03", event_type="LAST_CONTACT",
                              event_date="2015-01-01"),
         ("outcome_events.csv:7: event_date: after_death (death 2014-08-10): 2015-01-01",)),
    Case("protocol_not_found", e("study", 2, protocol_id="nct00000000"),
         ("study.csv:2: protocol_id: protocol_not_found (no protocol named 'nct00000000' (and no "
          "such YAML file)): nct00000000",)),
    # an arm the data define but the protocol does not (three edits to build it)
    Case("arm_in_protocol",
         steps(lambda f: append_csv(f, "arms", arm_id="HIGH", label="high dose"),
               lambda f: append_csv(f, "dose_levels", arm_id="HIGH", dose_level_id="H1",
                                    label="high"),
               e("subjects", 3, arm_id="HIGH", dose_level_id="H1")),
         ("subjects.csv:3: arm_id: arm_in_protocol (protocol nct02218437 arms: MSC, CONTROL): "
          "HIGH",)),
    Case("drug_not_in_arm", e("exposures", 7, drug="UCMSC"),
         ("exposures.csv:7: drug: drug_not_in_arm (arm CONTROL: RATG, CSA): UCMSC",)),
    Case("dose_unit", e("exposures", 3, dose_unit="cells"),
         ("exposures.csv:3: dose_unit: dose_unit (RATG in mg): cells",)),
    Case("dose_within_tolerance", e("exposures", 8, dose="49.6"),
         ("exposures.csv:8: dose: dose_within_tolerance (expected 45 mg ± 10 % for 15 kg): 49.6",)),
    Case("dose_within_tolerance", e("exposures", 8, dose="40.4"),
         ("exposures.csv:8: dose: dose_within_tolerance (expected 45 mg ± 10 % for 15 kg): 40.4",)),
    Case("dose_within_tolerance", e("exposures", 7, dose="41.3"),
         ("exposures.csv:7: dose: dose_within_tolerance (expected 37.5 mg ± 10 % for 15 kg): "
          "41.3",)),
    Case("dose_within_tolerance", e("exposures", 4, dose="22000001"),
         ("exposures.csv:4: dose: dose_within_tolerance "
          "(expected 20000000 cells ± 10 % for 20 kg): 22000001",)),
    # the dose is recomputed from the exposure's own weight (D7), not the baseline weight
    Case("dose_within_tolerance", e("exposures", 8, weight_kg="17.5"),
         ("exposures.csv:8: dose: dose_within_tolerance (expected 52.5 mg ± 10 % for 17.5 kg): "
          "45",)),
    # weight 24.1 kg is > 20 % above 20 kg; the dose is changed with it to stay in tolerance
    Case("exposure_weight", e("exposures", 4, weight_kg="24.1", dose="24100000"),
         ("exposures.csv:4: weight_kg: exposure_weight (baseline 20 kg ± 20 %): 24.1",), ok=True),
]  # fmt: skip

# Edits right at a boundary (or allowed by a rule) that must give no problem at all.
CLEAN: list[tuple[str, Edit]] = [
    ("rATG dose at +10 %", e("exposures", 8, dose="49.5")),
    ("rATG dose at -10 %", e("exposures", 8, dose="40.5")),
    ("CsA dose at +10 %", e("exposures", 7, dose="41.25")),
    ("UC-MSC dose at +10 %", e("exposures", 4, dose="22000000")),
    ("dosing weight at +20 %", e("exposures", 4, weight_kg="24", dose="24000000")),
    ("dosing weight at -20 %", e("exposures", 4, weight_kg="16", dose="16000000")),
    ("ANC at its hard maximum is only a soft warning", e("labs", 8, value="30")),
    ("t-cell sample on the consent day", e("tcell_subsets", 2, sample_date="2014-01-20")),
    ("lab before consent (pre-consent table)", e("labs", 11, lab_date="2014-03-01")),
    ("marrow before consent (pre-consent table)", e("marrow_exams", 5, exam_date="2014-02-01")),
    ("lab on the day of death", e("labs", 12, lab_date="2014-08-10")),
    ("diagnosis on the consent day", e("subjects", 2, consent_date="2014-01-02")),
    ("enrolment on the consent day", e("subjects", 2, enrolment_date="2014-01-20")),
    ("AE ending the day it started", e("adverse_events", 3, end_date="2014-01-23")),
    ("AE ongoing (no end date)", e("adverse_events", 3, end_date="")),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return valid_study().write_csv(tmp_path / "study")


def test_valid_fixture_has_no_problem(folder):
    report = validate_path(folder)
    assert report.problems == ()
    assert report.ok and report.summary() == f"0 errors, 0 warnings in {folder}"
    assert validate(valid_study()).problems == ()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_one_broken_value_per_rule(folder, case):
    case.edit(folder)
    report = validate_path(folder)
    assert [str(p) for p in report.problems] == list(case.expected)
    assert report.ok is case.ok
    assert len(report.errors) == (0 if case.ok else len(case.expected))
    first = report.problems[0]
    assert first.rule == case.rule
    assert str(first).startswith(f"{first.file}:{first.row}: {first.field}: {case.rule}")


@pytest.mark.parametrize("edit", [c[1] for c in CLEAN], ids=[c[0] for c in CLEAN])
def test_boundary_values_pass(folder, edit):
    edit(folder)
    report = validate_path(folder)
    assert report.errors == (), [str(p) for p in report.problems]


def test_anc_at_its_soft_maximum_and_just_above(folder):
    edit_csv(folder, "labs", 8, value="30")
    assert validate_path(folder).problems == ()
    edit_csv(folder, "labs", 8, value="30.01")
    assert [str(p) for p in validate_path(folder).problems] == [
        "labs.csv:8: value: soft_range [0, 30]: 30.01"
    ]
    edit_csv(folder, "labs", 8, value="100")
    assert [p.rule for p in validate_path(folder).problems] == ["soft_range"]
    edit_csv(folder, "labs", 8, value="100.01")
    assert [p.rule for p in validate_path(folder).problems] == ["hard_range"]


def test_every_registered_rule_has_a_case():
    tested = {c.rule for c in CASES}
    assert {r.name for r in RULES} <= tested
    assert len({r.name for r in RULES}) == len(RULES)


def test_tolerance_comes_from_the_protocol(folder):
    edit_csv(folder, "exposures", 8, dose="49.6")
    assert not validate_path(folder).ok
    lenient = dataclasses.replace(load_protocol("nct02218437"), dose_tolerance_fraction=0.2)
    assert validate_path(folder, protocol=lenient).ok


def test_read_and_rule_problems_are_reported_together(folder):
    edit_csv(folder, "subjects", 2, birth_date="10/05/2009")  # read problem
    edit_csv(folder, "labs", 12, subject_id="S09")  # rule problem
    edit_csv(folder, "subjects", 4, sex="")  # rule problem
    report = validate_path(folder)
    assert [str(p) for p in report.problems] == [
        "subjects.csv:2: birth_date: type date (YYYY-MM-DD): 10/05/2009",
        "subjects.csv:4: sex: required: ",
        "labs.csv:12: subject_id: references subjects.subject_id: S09",
    ]


def test_missing_column_is_reported_once(folder):
    path = folder / "transfusions.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join(",".join(line.split(",")[:2] + line.split(",")[3:])
                              for line in lines))  # fmt: skip
    report = validate_path(folder)
    assert [str(p) for p in report.problems] == [
        "transfusions.csv:1: product: missing_column (required field): "
    ]


def test_validate_path_never_raises_for_bad_input(tmp_path):
    report = validate_path(tmp_path / "missing")
    assert not report.ok and [p.rule for p in report.problems] == ["not_found"]
    (tmp_path / "bad.xlsx").write_bytes(b"\x00\x01")
    report = validate_path(tmp_path / "bad.xlsx")
    assert [str(p) for p in report.problems] == [
        "bad.xlsx:0: *: unreadable (not a readable XLSX workbook): BadZipFile"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    report = validate_path(empty)
    assert [p.rule for p in report.problems] == ["missing_table"] * 5


def test_xlsx_problems_name_the_sheet(tmp_path):
    records = valid_study()
    book = records.write_xlsx(tmp_path / "trial.xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(book)
    wb["exposures"]["E8"] = 50  # S02 rATG: 45 mg expected
    wb.save(book)
    assert [str(p) for p in validate_path(book).problems] == [
        "trial.xlsx[exposures]:8: dose: dose_within_tolerance "
        "(expected 45 mg ± 10 % for 15 kg): 50"
    ]


def test_in_memory_study_rows_are_position_plus_two():
    study = valid_study().copy()
    study["labs"].loc[10, "unit"] = "mmol/L"
    assert [str(p) for p in validate(study).problems] == [
        "labs.csv:12: unit: lab_unit (ANC in 10^9/L): mmol/L"
    ]


def test_study_changed_into_wrong_dtypes_is_reported_not_raised():
    study = valid_study().copy()
    study.tables["subjects"]["weight_kg"] = study["subjects"]["weight_kg"].astype(object)
    report = validate(study)
    assert [str(p) for p in report.problems] == [
        "subjects.csv:1: weight_kg: dtype (must be float64): object"
    ]


def test_report_is_a_named_result():
    p_err = Problem("a.csv", 2, "x", "required", "", )
    report = ValidationReport((p_err,), "here")
    assert report.errors == (p_err,) and report.warnings == () and report.ok is False
    assert str(report) == "a.csv:2: x: required: \n1 error, 0 warnings in here"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.source = "elsewhere"  # type: ignore[misc]


def test_problems_are_ordered_by_table_then_row(folder):
    edit_csv(folder, "labs", 9, unit="x")
    edit_csv(folder, "labs", 3, unit="y")
    edit_csv(folder, "subjects", 3, sex="Q")
    report = validate_path(folder)
    assert [(p.file, p.row) for p in report.problems] == [
        ("subjects.csv", 3), ("labs.csv", 3), ("labs.csv", 9)
    ]


def test_dates_compare_as_dates_not_text():
    study = valid_study()
    frame = study["subjects"].copy()
    frame.loc[0, "consent_date"] = pd.Timestamp("2014-01-03")
    assert validate(study.with_table("subjects", frame)).problems == ()
    frame.loc[0, "consent_date"] = pd.Timestamp("2014-01-01")
    assert [p.rule for p in validate(study.with_table("subjects", frame)).problems] == [
        "date_order"
    ]
    assert isinstance(StudyData, type)
