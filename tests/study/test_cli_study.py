"""``saatrial validate`` and ``saatrial template`` through the typer CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from saatrial.cli import app

from . import edit_csv, valid_study

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return valid_study().write_csv(tmp_path / "study")


def test_validate_valid_study_exits_0(folder):
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"0 errors, 0 warnings in {folder}"


def test_validate_invalid_study_exits_1_with_message_lines(folder):
    edit_csv(folder, "labs", 2, value="250")
    edit_csv(folder, "exposures", 8, dose="50")
    edit_csv(folder, "subjects", 3, height_cm="210")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "subjects.csv:3: height_cm: soft_range [45, 200]: 210",
        "labs.csv:2: value: hard_range [0, 100]: 250",
        "exposures.csv:8: dose: dose_within_tolerance (expected 45 mg ± 10 % for 15 kg): 50",
        f"2 errors, 1 warning in {folder}",
    ]


def test_validate_warnings_only_exits_0(folder):
    edit_csv(folder, "subjects", 3, height_cm="210")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0
    assert "subjects.csv:3: height_cm: soft_range [45, 200]: 210" in result.output
    assert f"0 errors, 1 warning in {folder}" in result.output


def test_validate_xlsx_and_missing_path(tmp_path):
    book = valid_study().write_xlsx(tmp_path / "study.xlsx")
    assert runner.invoke(app, ["validate", str(book)]).exit_code == 0
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope:0: *: not_found" in result.output


def test_template_command(tmp_path):
    target = tmp_path / "t"
    result = runner.invoke(app, ["template", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "FIELD_GUIDE.md").is_file() and (target / "subjects.csv").is_file()
    again = runner.invoke(app, ["template", str(target)])
    assert again.exit_code == 1
    assert "not empty" in again.output and "--force" in again.output
    forced = runner.invoke(app, ["template", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
