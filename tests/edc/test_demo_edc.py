"""The eCRF part of ``saatrial demo``: bundled study in the default database, a demo login.

Each database case runs in a fresh interpreter on its own data directory (this
test process has Django set up on an in-memory database).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saatrial.edc import demo

RUN = "from saatrial.edc.demo import run_edc_demo; raise SystemExit(0 if run_edc_demo() else 3)"
LOGIN = (
    "import sys; from saatrial.edc.bootstrap import setup_django; setup_django(); "
    "from django.contrib.auth import authenticate; "
    "print(authenticate(username=sys.argv[1], password=sys.argv[2]) is not None)"
)


def env_for(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAATRIAL_", "DATABASE_URL"))}
    env.update({"SAATRIAL_DATA": str(data), **extra})
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def python(data: Path, code: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env_for(data, **extra),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_first_run_loads_the_study_and_creates_the_login_second_run_reuses_them(tmp_path):
    data = tmp_path / "data"
    first = python(data, RUN)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert lines[0] == (
        f"eCRF database: SQLite {data / 'saatrial.sqlite3'}: loaded the bundled study "
        "nct02218437 (18 subjects); created account demo (investigator at IHBDH, "
        f"statistician); login saved in {data / 'demo-login.txt'}."
    )
    login = data / "demo-login.txt"
    assert stat.S_IMODE(login.stat().st_mode) == 0o600
    username, password = demo.read_login_file(login)
    assert username == "demo" and len(password) >= 16
    # no secret key in the environment: set up in development mode, and the hint says so
    assert lines[1] == (
        f"Browse it: SAATRIAL_DATA={data} SAATRIAL_DEV=1 saatrial serve, then "
        f"http://127.0.0.1:8000 — login demo / {password}"
    )
    assert python(data, LOGIN, "demo", password, SAATRIAL_DEV="1").stdout.strip() == "True"
    assert python(data, LOGIN, "demo", "wrong" + password, SAATRIAL_DEV="1").stdout.strip() == (
        "False"
    )
    with sqlite3.connect(data / "saatrial.sqlite3") as db:
        roles = db.execute(
            "SELECT m.role, m.site_id FROM accounts_site_membership m JOIN auth_user u "
            "ON u.id = m.user_id WHERE u.username = 'demo' ORDER BY m.role"
        ).fetchall()
        subjects = db.execute("SELECT count(*) FROM trial_subjects").fetchone()[0]
        audited = db.execute(
            "SELECT count(*) FROM audit_auditentry WHERE reason = 'demo account (saatrial demo)'"
        ).fetchone()[0]
    assert roles == [("investigator", "IHBDH"), ("statistician", None)]
    assert subjects == 18 and audited > 0

    second = python(data, RUN, SAATRIAL_SECRET_KEY="k" * 50)  # production mode this time
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().splitlines() == [
        f"eCRF database: SQLite {data / 'saatrial.sqlite3'}: the database already holds study "
        "nct02218437: not loaded again; account demo exists already.",
        f"Browse it: SAATRIAL_DATA={data} saatrial serve, then http://127.0.0.1:8000 — "
        f"login demo / {password}",
    ]
    with sqlite3.connect(data / "saatrial.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM trial_subjects").fetchone()[0] == 18


def test_another_study_in_the_database_is_kept_and_gets_no_demo_account(tmp_path):
    from saatrial.study import StudyData

    from .studies import minimal_study_rows

    folder = tmp_path / "small"
    StudyData.from_records(minimal_study_rows(("S1",), 1)).write_csv(folder)
    data = tmp_path / "data"
    loaded = subprocess.run(
        [sys.executable, "-m", "saatrial", "db", "load", str(folder)],
        env=env_for(data, SAATRIAL_DEV="1"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert loaded.returncode == 0, loaded.stderr
    result = python(data, RUN)
    assert result.returncode == 0
    assert (
        "the database already holds study t1: not loaded again; no demo account created: the "
        "database holds study t1, not the bundled study nct02218437." in result.stdout
    )
    assert "login demo (password: see " in result.stdout
    assert not (data / "demo-login.txt").exists()


def test_a_bad_database_setting_is_reported_not_raised(tmp_path):
    result = python(tmp_path, RUN, DATABASE_URL="mysql://nobody@127.0.0.1/x")
    assert result.returncode == 3, result.stderr  # run_edc_demo returned False
    assert result.stdout.startswith("eCRF demo skipped: DatabaseUrlError: ")
    assert "Traceback" not in result.stderr


def test_without_django_one_line_says_how_to_enable_it(monkeypatch):
    real = importlib.util.find_spec

    def hide_django(name, *args):
        return None if name in ("django", "simple_history") else real(name, *args)

    monkeypatch.setattr(demo.importlib.util, "find_spec", hide_django)
    lines: list[str] = []
    assert demo.run_edc_demo(lines.append) is False
    assert lines == [
        "eCRF demo skipped: the web app is not installed; enable it with "
        "pip install 'saatrial[web]' and run saatrial demo again."
    ]


def test_inside_a_process_that_set_django_up_nothing_is_touched():
    lines: list[str] = []
    assert demo.run_edc_demo(lines.append) is False
    assert lines == ["eCRF demo skipped: Django is already set up in this process"]


@pytest.mark.parametrize("report_code", [0, 1])
def test_demo_command_runs_the_edc_part_after_the_report_and_keeps_its_exit_code(
    monkeypatch, tmp_path, report_code
):
    from saatrial.cli import app

    def fake_report(out):
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "index.html").write_text("<!DOCTYPE html>")
        return report_code

    calls: list[str] = []

    def fake_edc(echo):
        calls.append("edc")
        echo("eCRF demo skipped: because the test says so")
        return False

    monkeypatch.setattr("saatrial.report.console.run_demo", fake_report)
    monkeypatch.setattr("saatrial.edc.demo.run_edc_demo", fake_edc)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "out")])
    assert result.exit_code == report_code
    assert calls == ["edc"]
    assert result.output.strip().endswith("eCRF demo skipped: because the test says so")

    # no report written (refused up front): no eCRF part either
    monkeypatch.setattr("saatrial.report.console.run_demo", lambda out: 1)
    calls.clear()
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "none")])
    assert result.exit_code == 1 and calls == []


def test_login_file_is_replaced_whole_and_private(tmp_path):
    path = tmp_path / "demo-login.txt"
    path.write_text("old")
    os.chmod(path, 0o644)
    demo.write_login_file(path, "demo", "another pass phrase")
    assert demo.read_login_file(path) == ("demo", "another pass phrase")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-login.txt"]  # no temp left
    assert demo.read_login_file(tmp_path / "missing.txt") is None


def test_examples_run():
    import doctest

    result = doctest.testmod(demo)
    assert result.attempted > 0 and result.failed == 0
