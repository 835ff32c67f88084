"""Export (zip of canonical CSVs, XLSX) equals export_study; analysis runs from the web."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.exports.service import list_runs, report_path
from saatrial.edc.load import export_study, load_study
from saatrial.study import StudyData

from .crf_helpers import lab, load_small_study, make_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    load_small_study()
    lab("S2-1", "2014-03-01", "HGB", 95.0)
    return make_users()


def unzip(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_csv_zip_equals_export_study(client, users):
    client.force_login(users["stan"])
    r = client.post("/export/", {"scope": "__all__", "format": "csv"})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    assert r["Content-Disposition"] == 'attachment; filename="t1.zip"'
    files = unzip(r.content)
    expected = export_study(audit=False).csv_files()
    assert files == expected
    assert b"S2-1,2014-03-01,HGB,95,g/L" in files["labs.csv"]
    # byte-stable: the same export twice is the same archive
    assert client.post("/export/", {"scope": "__all__", "format": "csv"}).content == r.content


def test_one_site_and_xlsx(client, users, tmp_path):
    client.force_login(users["stan"])
    r = client.post("/export/", {"scope": "S2", "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Disposition"].endswith('t1_S2.xlsx"')
    path = tmp_path / "x.xlsx"
    path.write_bytes(r.content)
    back = StudyData.read(path)
    assert back.subject_ids == ("S2-1", "S2-2")
    assert back.csv_files() == export_study("S2", audit=False).csv_files()


def test_exports_are_audited(client, users):
    client.force_login(users["stan"])
    client.post("/export/", {"scope": "S1", "format": "csv"})
    (entry,) = AuditEntry.objects.filter(action="export")
    assert entry.username == "stan"
    detail = json.loads(entry.detail)
    assert detail["site"] == "S1" and detail["rows"]["subjects"] == 2


@pytest.mark.parametrize("who", ["ivan", "cora", "mona", "dana", "audrey", "adam"])
def test_only_exporters_may_export_or_run_the_analysis(client, users, who):
    client.force_login(users[who])
    assert client.get("/export/").status_code == 403
    assert client.post("/export/", {"scope": "__all__", "format": "csv"}).status_code == 403
    assert client.post("/analysis/", {"confirm": "on"}).status_code == 403
    assert not AuditEntry.objects.filter(action__in=["export", "report_run"]).exists()


def test_export_form_offers_visible_sites_and_refuses_others(client, users):
    client.force_login(users["stan"])
    form = client.get("/export/").context["form"]
    assert [c for c, _ in form.fields["scope"].choices] == ["__all__", "S1", "S2"]
    r = client.post("/export/", {"scope": "S9", "format": "csv"})
    assert r.status_code == 200 and "Select a valid choice" in r.content.decode()


def test_report_module_missing_gives_a_clear_message(client, users, monkeypatch):
    monkeypatch.setitem(sys.modules, "saatrial.report.build", None)  # import fails
    client.force_login(users["stan"])
    r = client.post("/analysis/", {"confirm": "on"})
    assert r.status_code == 200
    assert "report module not available in this installation" in r.content.decode()


def test_report_files_stay_inside_their_run(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    run = tmp_path / "reports" / "20250101T000000000000Z"
    (run / "figures").mkdir(parents=True)
    (run / "index.html").write_text("<html>x</html>")
    (tmp_path / "secret.txt").write_text("no")
    assert list_runs() == ["20250101T000000000000Z"]
    assert report_path("20250101T000000000000Z").name == "index.html"
    for run_id, name in (
        ("20250101T000000000000Z", "../../secret.txt"),
        ("..", "secret.txt"),
        ("20250101T000000000000Z", "figures"),
    ):
        with pytest.raises(FileNotFoundError):
            report_path(run_id, name)


@pytest.mark.slow
def test_statistician_runs_the_analysis_and_opens_the_report(
    client, bundled_study, settings, tmp_path
):
    pytest.importorskip("saatrial.report.build")
    settings.DATA_DIR = tmp_path
    load_study(bundled_study, Actor(None, "cli:test"))
    from saatrial.edc.accounts.services import create_user

    from .crf_helpers import CLI, PASSWORD

    stan = create_user("stan", PASSWORD, "statistician", None, CLI)
    client.force_login(stan)
    # the export of the loaded bundled study is its bundled CSV folder, byte for byte
    files = unzip(client.post("/export/", {"scope": "__all__", "format": "csv"}).content)
    folder = resources.files("saatrial.study").joinpath("bundled", "nct02218437")
    for name, content in files.items():
        assert content == folder.joinpath(name).read_bytes(), name

    r = client.post("/analysis/", {"confirm": "on"})
    assert r.status_code == 302, r.content.decode()[-2000:]
    (run_id,) = list_runs()
    assert r["Location"] == f"/analysis/{run_id}/"
    assert (Path(tmp_path) / "reports" / run_id / "index.html").is_file()
    page = client.get(r["Location"])
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert b"<html" in b"".join(page.streaming_content).lower()
    (entry,) = AuditEntry.objects.filter(action="report_run")
    assert entry.username == "stan" and entry.record_key == run_id
    client.logout()
    assert client.get(r["Location"]).status_code == 302  # login first
