"""Settings from the environment (checked in fresh interpreters) and DATABASE_URL parsing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from saatrial.edc.dburl import DatabaseUrlError, database_from_url, redact_url

PROBE = (
    "import json, saatrial.edc.settings as s; db = s.DATABASES['default']; "
    "print(json.dumps({'debug': s.DEBUG, 'key': s.SECRET_KEY, 'engine': db['ENGINE'],"
    " 'name': str(db['NAME']), 'hosts': s.ALLOWED_HOSTS, 'secure': s.SESSION_COOKIE_SECURE}))"
)


def probe(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SAATRIAL_", "DATABASE_URL"))}
    clean.update({"SAATRIAL_DATA": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, timeout=60
    )


def test_production_mode_needs_a_secret_key(tmp_path):
    result = probe(tmp_path)
    assert result.returncode != 0
    assert "SAATRIAL_SECRET_KEY is not set" in result.stderr


def test_production_mode_defaults(tmp_path):
    result = probe(tmp_path, SAATRIAL_SECRET_KEY="k" * 50)
    values = json.loads(result.stdout)
    assert values["debug"] is False and values["key"] == "k" * 50
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "data" / "saatrial.sqlite3")
    assert values["hosts"] == ["127.0.0.1", "localhost"]
    assert values["secure"] is False
    values = json.loads(
        probe(tmp_path, SAATRIAL_SECRET_KEY="x", SAATRIAL_SECURE_COOKIES="1").stdout
    )
    assert values["secure"] is True


def test_development_mode_generates_one_private_key_per_data_dir(tmp_path):
    first = json.loads(probe(tmp_path, SAATRIAL_DEV="1").stdout)
    second = json.loads(probe(tmp_path, SAATRIAL_DEV="1").stdout)
    assert first["debug"] is True
    assert first["key"] == second["key"] and len(first["key"]) >= 50
    mode = stat.S_IMODE((tmp_path / "data" / "secret_key.dev").stat().st_mode)
    assert mode == 0o600


def test_database_url_switches_to_postgresql(tmp_path):
    url = "postgresql://edc:pw@127.0.0.1:5432/trial"
    values = json.loads(probe(tmp_path, SAATRIAL_DEV="1", DATABASE_URL=url).stdout)
    assert values["engine"] == "django.db.backends.postgresql" and values["name"] == "trial"
    bad = probe(tmp_path, SAATRIAL_DEV="1", DATABASE_URL="mysql://u:p@h/db")
    assert bad.returncode != 0 and "scheme 'mysql' is not supported" in bad.stderr


def test_database_url_parsing():
    db = database_from_url("postgres://a%20b:p%3Aw@db.example:6432/tri%61l?sslmode=require")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "a b",
        "p:w",
        "db.example",
        "6432",
        "trial",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    assert database_from_url("postgresql://u@localhost/x")["PORT"] == ""
    assert database_from_url("sqlite:///rel/a.sqlite3")["NAME"] == "rel/a.sqlite3"
    assert database_from_url("sqlite:////abs/a.sqlite3")["NAME"] == "/abs/a.sqlite3"
    with pytest.raises(DatabaseUrlError, match="no database name"):
        database_from_url("postgresql://u:secret@h:5432/")
    with pytest.raises(DatabaseUrlError, match="port is not a number") as info:
        database_from_url("postgresql://u:secret@h:port/db")
    assert "secret" not in str(info.value)
    assert redact_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
