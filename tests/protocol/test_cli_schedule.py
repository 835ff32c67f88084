"""`saatrial schedule` through the command line (typer CliRunner).

Issue 3 done-when: for a 15 kg child, rATG 45 mg/day on days 1-5, CsA 37.5 mg every
12 h, UC-MSC 1.5e7 cells on days 14, 21 and 28, and visit windows day 40 (33-47),
day 90 (76-104), day 180 (150-210).
"""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources

import pytest
from typer.testing import CliRunner

from saatrial.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # rich wraps table cells at the default 80 columns
MANUAL = ["--arm", "MSC", "--dose-level", "MSC-1", "--weight-kg", "15", "--day1", "2014-01-06"]


def _rows(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_fifteen_kg_child_done_when(tmp_path):
    result = runner.invoke(
        app,
        ["schedule", "-", "CHILD15", *MANUAL, "--protocol", "nct02218437", "--out", str(tmp_path)],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("45 mg/day") == 5  # rATG days 1-5
    assert "37.5 mg every 12 h (75 mg/day)" in out
    assert out.count("1.5e7 cells") >= 3
    for window in ("40 (33-47)", "90 (76-104)", "180 (150-210)"):
        assert window in out
    csv_path, ics_path = tmp_path / "CHILD15_schedule.csv", tmp_path / "CHILD15_schedule.ics"
    assert f"wrote {csv_path}" in out.replace("\n", "")
    rows = _rows(csv_path)
    ratg = [r for r in rows if r["code"] == "RATG"]
    assert [(r["study_day"], r["dose"], r["dose_unit"]) for r in ratg] == [
        (str(d), "45", "mg") for d in range(1, 6)
    ]
    (csa,) = [r for r in rows if r["code"] == "CSA"]
    assert (csa["dose"], csa["frequency"], csa["administrations_per_day"]) == ("37.5", "Q12H", "2")
    msc = [r for r in rows if r["code"] == "UCMSC"]
    assert [(r["study_day"], float(r["dose"])) for r in msc] == [
        ("14", 1.5e7),
        ("21", 1.5e7),
        ("28", 1.5e7),
    ]
    visits = {r["code"]: (r["earliest_day"], r["latest_day"]) for r in rows if r["kind"] == "VISIT"}
    assert visits == {"D40": ("33", "47"), "D90": ("76", "104"), "D180": ("150", "210")}
    ics = ics_path.read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n") and ics.count(b"BEGIN:VEVENT") == 12


def test_without_day1_writes_csv_only(tmp_path):
    args = ["schedule", "-", "P1", "--arm", "CONTROL", "--dose-level", "NONE", "--weight-kg", "20"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "give --day1" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P1_schedule.csv"]
    rows = _rows(tmp_path / "P1_schedule.csv")
    assert {r["code"] for r in rows if r["kind"] == "DOSE"} == {"RATG", "CSA"}
    assert next(r["dose"] for r in rows if r["code"] == "RATG") == "60"  # 3 mg/kg x 20 kg


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arm", "MSC", "--dose-level", "MSC-1"], "--weight-kg"),
        ([*MANUAL[:6], "--day1", "2014-13-01"], "month"),
        (["--arm", "MSC", "--dose-level", "MSC-9", "--weight-kg", "15"], "dose level 'MSC-9'"),
        (["--arm", "MSC", "--dose-level", "MSC-1", "--weight-kg", "500"], "weight_kg"),
        ([*MANUAL, "--protocol", "nct00000000"], "no protocol named"),
    ],
)
def test_errors_exit_2_with_message(tmp_path, args, message):
    result = runner.invoke(app, ["schedule", "-", "X", *args, "--out", str(tmp_path)], env=WIDE)
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


def _write_small_study(folder):
    from saatrial.study import StudyData

    study = StudyData.from_records(
        {
            "study": [
                {
                    "study_id": "t",
                    "registry_id": "NCT02218437",
                    "title": "test",
                    "protocol_id": "nct02218437",
                    "enrolment_start": "2013-10-01",
                    "enrolment_end": "2014-10-31",
                    "data_cutoff_date": "2018-04-13",
                    "dictionary_version": "1.0.0",
                }
            ],
            "sites": [{"site_id": "TJ", "name": "Tianjin", "country": "CN"}],
            "arms": [{"arm_id": "MSC", "label": "UC-MSC + IST"}],
            "dose_levels": [
                {
                    "arm_id": "MSC",
                    "dose_level_id": "MSC-1",
                    "label": "1e6/kg",
                    "msc_dose_1e6_cells_per_kg": 1.0,
                }
            ],
            "subjects": [
                {
                    "subject_id": "S01",
                    "site_id": "TJ",
                    "arm_id": "MSC",
                    "dose_level_id": "MSC-1",
                    "sex": "F",
                    "birth_date": "2010-03-01",
                    "diagnosis_date": "2013-12-01",
                    "weight_kg": 18.0,
                    "consent_date": "2014-01-02",
                    "enrolment_date": "2014-01-03",
                }
            ],
            "exposures": [
                {
                    "subject_id": "S01",
                    "drug": "RATG",
                    "start_date": "2014-01-06",
                    "end_date": "2014-01-10",
                    "dose": 54.0,
                    "dose_unit": "mg",
                    "frequency": "QD",
                    "weight_kg": 18.0,
                }
            ],
        }
    )
    study.write_csv(folder)


def test_from_study_folder(tmp_path):
    folder = tmp_path / "study"
    _write_small_study(folder)
    out = tmp_path / "out"
    result = runner.invoke(app, ["schedule", str(folder), "S01", "--out", str(out)], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = _rows(out / "S01_schedule.csv")
    first = rows[0]
    # weight 18 kg from subjects.csv, day 1 = first rATG exposure (D7)
    assert (first["code"], first["dose"], first["date"]) == ("RATG", "54", "2014-01-06")
    assert next(r["dose"] for r in rows if r["code"] == "CSA") == "45"  # 2.5 x 18
    assert next(r["dose"] for r in rows if r["code"] == "UCMSC") == "18000000"
    assert (out / "S01_schedule.ics").is_file()
    # an option overrides the study value
    result = runner.invoke(
        app, ["schedule", str(folder), "S01", "--weight-kg", "20", "--out", str(out)], env=WIDE
    )
    assert result.exit_code == 0, result.output
    assert _rows(out / "S01_schedule.csv")[0]["dose"] == "60"
    # unknown subject
    result = runner.invoke(app, ["schedule", str(folder), "S99", "--out", str(out)], env=WIDE)
    assert result.exit_code == 2 and "no such subject" in result.output


def test_bundled_study(tmp_path):
    folder = resources.files("saatrial.study").joinpath("bundled", "nct02218437")
    if not folder.joinpath("subjects.csv").is_file():
        pytest.skip("bundled study not generated yet")
    from saatrial.study import load_bundled_study

    study = load_bundled_study()
    subjects = study["subjects"]
    row = subjects[subjects["arm_id"] == "MSC"].iloc[0]
    subject = str(row["subject_id"])
    result = runner.invoke(app, ["schedule", "bundled", subject, "--out", str(tmp_path)], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / f"{subject}_schedule.csv")
    ratg = next(r for r in rows if r["code"] == "RATG")
    assert float(ratg["dose"]) == pytest.approx(3.0 * float(row["weight_kg"]))
    exposures = study["exposures"]
    first_ratg = exposures[
        (exposures["subject_id"] == subject) & (exposures["drug"] == "RATG")
    ]["start_date"].min()
    assert ratg["date"] == first_ratg.date().isoformat()
    assert dt.date.fromisoformat(ratg["date"])  # a real date
