"""`saatrial demo` and `saatrial report`: outputs, exit codes, errors before any writing."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from saatrial.cli import app
from saatrial.study import load_bundled_study

from ._r3_support import variant

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "saatrial", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "report" in out and "demo" in out
    assert "--out" in _run("report", "--help").output


def test_demo_writes_the_report_and_exits_0(tmp_path):
    out = tmp_path / "out"
    result = _run("demo", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = result.output
    assert "deriving analysis datasets" in text and "drawing figures" in text  # progress
    rows = list(csv.DictReader(io.StringIO((out / "reproduction.csv").read_text())))
    assert rows and all(r["passed"] == "Y" for r in rows)
    assert f"✓ {len(rows)} of {len(rows)} published numbers reproduced." in text
    assert (out / "index.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    results = json.loads((out / "results.json").read_text())
    assert results["long_term"]["ffs_4y"]["MSC"]["est"] == pytest.approx(0.381, abs=0.001)
    assert sorted(p.name for p in (out / "adam").iterdir()) == [
        "adae.csv", "adlb.csv", "adrs.csv", "adsl.csv", "adtte.csv", "derive_notes.csv",
    ]
    figures = sorted(p.name for p in (out / "figures").iterdir())
    keys = ["consort", "figure1_blood_counts", "figure2_tcells", "figure3_ffs", "figure3_os",
            "swimmer"]
    assert figures == sorted([f"{k}.png" for k in keys] + [f"{k}.svg" for k in keys])


def test_failed_reproduction_exits_1_naming_the_numbers(tmp_path):
    """The bundled study as a workbook with one MSC boy recorded as a girl."""
    study = load_bundled_study()
    subjects = study["subjects"].copy()
    boy = subjects.index[(subjects["arm_id"] == "MSC") & (subjects["sex"] == "M")][0]
    subjects.loc[boy, "sex"] = "F"
    book = variant(study, subjects=subjects).write_xlsx(tmp_path / "study.xlsx")
    out = tmp_path / "out"
    result = _run("report", str(book), "--out", str(out))
    assert result.exit_code == 1, result.output
    text = result.output
    assert "baseline_msc.male: published 3, reproduced 2" in text
    assert "baseline_msc.female: published 6, reproduced 7" in text
    assert "✗" in text and "published numbers reproduced; 2 not:" in text
    page = (out / "index.html").read_text(encoding="utf-8")  # the report is still written
    assert '<tr class="failed"><td>baseline_msc.male</td>' in page
    failed = [r for r in csv.DictReader(io.StringIO((out / "reproduction.csv").read_text()))
              if r["passed"] == "N"]
    assert [r["key"] for r in failed] == ["baseline_msc.male", "baseline_msc.female"]


def test_hard_validation_errors_are_printed_and_nothing_is_written(tmp_path):
    folder = load_bundled_study().write_csv(tmp_path / "study")
    path = folder / "subjects.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "sex"] = "X"
    frame.to_csv(path, index=False, lineterminator="\n")
    out = tmp_path / "out"
    result = _run("report", str(folder), "--out", str(out))
    assert result.exit_code == 1
    assert "subjects.csv:2: sex: codes" in result.output and ": X" in result.output
    assert "hard validation errors; no report written" in result.output
    assert not out.exists()


def test_missing_study_exits_1(tmp_path):
    result = _run("report", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "not_found" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [("demo",), ("report", "bundled-does-not-matter")])
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, command):
    target = tmp_path / "taken"
    target.write_text("x")
    result = _run(*command, "--out", str(target))
    assert result.exit_code == 1
    assert "exists and is not a folder" in result.output
    assert target.read_text() == "x"
