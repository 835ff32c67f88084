"""The eCRF commands end to end, each in a fresh interpreter on its own SQLite data directory.

``db load`` -> ``audit verify`` (exit 0) -> tamper with the file behind the
app's back -> ``audit verify`` (exit 1, naming the row); ``createuser``;
``db export``; ``serve`` with the production server on loopback.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path

import pytest

BUNDLED = resources.files("saatrial.study").joinpath("bundled", "nct02218437")


def env_for(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAATRIAL_", "DATABASE_URL"))}
    env.update({"SAATRIAL_DATA": str(data), "SAATRIAL_DEV": "1", **extra})
    return env


def saatrial(data: Path, *args: str, stdin: str | None = None, **extra: str):
    return subprocess.run(
        [sys.executable, "-m", "saatrial", *args],
        env=env_for(data, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def loaded_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("edc-cli")
    result = saatrial(data, "db", "load", "bundled")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loaded study nct02218437: 1798 rows in 15 tables")
    return data


def test_audit_verify_passes_then_flags_a_row_altered_behind_the_app(loaded_dir, tmp_path):
    ok = saatrial(loaded_dir, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("10069 rows, chain intact")
    # a copy of the database, altered with sqlite3 as a database owner could
    data = tmp_path / "tampered"
    data.mkdir()
    source = sqlite3.connect(loaded_dir / "saatrial.sqlite3")
    target = sqlite3.connect(data / "saatrial.sqlite3")
    source.backup(target)
    source.close()
    with target:
        refused = None
        try:
            target.execute("UPDATE audit_auditentry SET new_value = '7.5' WHERE seq = 4242")
        except sqlite3.DatabaseError as err:
            refused = str(err)
        assert refused is not None and "append-only" in refused
        target.execute("DROP TRIGGER saatrial_ao_upd_audit_auditentry")
        target.execute("UPDATE audit_auditentry SET new_value = '7.5' WHERE seq = 4242")
        row_id = target.execute("SELECT id FROM audit_auditentry WHERE seq = 4242").fetchone()[0]
    target.close()
    broken = saatrial(data, "audit", "verify")
    assert broken.returncode == 1
    assert f"audit chain BROKEN at seq 4242 (id {row_id}): hash mismatch" in broken.stdout


def test_db_export_writes_the_bundled_files_back(loaded_dir, tmp_path):
    result = saatrial(loaded_dir, "db", "export", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for path in BUNDLED.iterdir():
        if path.name.endswith(".csv"):
            assert (tmp_path / "out" / path.name).read_bytes() == path.read_bytes(), path.name
    again = saatrial(loaded_dir, "db", "export", str(tmp_path / "out"))
    assert again.returncode == 2 and "not empty" in again.stderr
    bad_site = saatrial(loaded_dir, "db", "export", str(tmp_path / "x"), "--site", "NOPE")
    assert bad_site.returncode == 2 and "no site 'NOPE'" in bad_site.stderr


def test_db_load_refuses_a_second_study_and_an_invalid_one(loaded_dir, tmp_path):
    again = saatrial(loaded_dir, "db", "load", "bundled")
    assert again.returncode == 2 and "already holds study nct02218437" in again.stderr
    folder = tmp_path / "bad"
    folder.mkdir()
    for path in BUNDLED.iterdir():
        if path.name.endswith(".csv"):
            (folder / path.name).write_bytes(path.read_bytes())
    subjects = (folder / "subjects.csv").read_text().splitlines()
    subjects[1] = subjects[1].replace(",IHBDH,", ",NOWHERE,")
    (folder / "subjects.csv").write_text("\n".join(subjects) + "\n")
    fresh = tmp_path / "fresh"
    result = saatrial(fresh, "db", "load", str(folder))
    assert result.returncode == 2
    assert "subjects.csv:2: site_id: references" in result.stderr
    verify = saatrial(fresh, "audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("0 rows, chain intact")


def test_createuser(loaded_dir):
    ok = saatrial(
        loaded_dir,
        "createuser",
        "ivan",
        "--role",
        "investigator",
        "--site",
        "IHBDH",
        "--password-stdin",
        stdin="a long enough pass phrase\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "created user ivan (investigator, site IHBDH)"
    weak = saatrial(
        loaded_dir, "createuser", "w", "--role", "auditor", "--password-stdin", stdin="123\n"
    )
    assert weak.returncode == 2 and "password refused" in weak.stderr
    scope = saatrial(
        loaded_dir,
        "createuser",
        "s",
        "--role",
        "statistician",
        "--site",
        "IHBDH",
        "--password-stdin",
        stdin="a long enough pass phrase\n",
    )
    assert scope.returncode == 2 and "study-wide" in scope.stderr
    with sqlite3.connect(loaded_dir / "saatrial.sqlite3") as db:
        rows = db.execute(
            "SELECT username, field_name, new_value FROM audit_auditentry "
            "WHERE table_name = 'auth_user' AND action = 'create' AND field_name = 'password'"
        ).fetchall()
    assert len(rows) == 1 and rows[0][0].startswith("cli:") and rows[0][2] == "<hidden>"


def test_serve_refuses_production_without_a_secret_key(tmp_path):
    env = env_for(tmp_path)
    env.pop("SAATRIAL_DEV")
    result = subprocess.run(
        [sys.executable, "-m", "saatrial", "serve", "--port", "8123"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "SAATRIAL_SECRET_KEY is not set" in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_the_production_server_on_loopback(tmp_path):
    port = free_port()
    env = env_for(tmp_path, SAATRIAL_SECRET_KEY="test-" + "k" * 45, SAATRIAL_WORKERS="1")
    env.pop("SAATRIAL_DEV")
    server = subprocess.Popen(
        [sys.executable, "-m", "saatrial", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=2
                ) as r:
                    body = r.read().decode()
                    headers = r.headers
                break
            except OSError:
                time.sleep(0.2)
        assert "Log in" in body, "server did not answer"
        assert headers["X-Frame-Options"] == "DENY"
        missing = urllib.request.Request(f"http://127.0.0.1:{port}/no-such-page")
        try:
            urllib.request.urlopen(missing, timeout=5)
        except urllib.error.HTTPError as err:
            page = err.read().decode()
            assert err.code == 404 and "Traceback" not in page and "URLconf" not in page
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "gunicorn" in output.lower() or "Listening at" in output
