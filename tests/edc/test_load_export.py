"""StudyData -> database -> StudyData: byte-identical round trip, refusals, scoped exports."""

from __future__ import annotations

import csv
import json
from importlib import resources

import pytest

from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.verify import verify_chain
from saatrial.edc.load import LoadRefusedError, export_study, load_study
from saatrial.edc.trial.models import Lab, Subject, trial_models
from saatrial.study import StudyData

from .conftest import ALL_DATABASES

pytestmark = ALL_DATABASES

LOADER = Actor(None, "cli:test")
BUNDLED = resources.files("saatrial.study").joinpath("bundled", "nct02218437")


def bundled_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in BUNDLED.iterdir() if p.name.endswith(".csv")}


def test_bundled_study_round_trips_byte_identical(alias, bundled_study):
    result = load_study(bundled_study, LOADER, using=alias)
    exported = export_study(using=alias)
    on_disk = bundled_files()
    written = exported.csv_files()
    assert set(written) == set(on_disk)  # every table, provenance included
    for name, content in on_disk.items():
        assert written[name] == content, f"{name} differs after the database round trip"
    # counts straight from the CSV files, not from the loader
    for name, content in on_disk.items():
        rows = list(csv.reader(content.decode("utf-8").splitlines()))[1:]
        assert result.rows[name.removesuffix(".csv")] == len(rows), name
    assert verify_chain(alias).intact


def test_load_audits_every_non_empty_cell_as_a_create(alias, bundled_study):
    result = load_study(bundled_study, LOADER, reason="initial load", using=alias)
    cells = 0
    for content in bundled_files().values():
        for row in list(csv.reader(content.decode("utf-8").splitlines()))[1:]:
            cells += sum(1 for cell in row if cell != "")
    subjects = len(bundled_study.subject_ids)
    locked_flags = subjects + 1  # `locked = false` of every subject and of the study
    assert result.audit_entries == cells + locked_flags
    entries = AuditEntry.objects.using(alias)
    assert entries.count() == result.audit_entries
    assert set(entries.values_list("action", "username", "reason").distinct()) == {
        ("create", "cli:test", "initial load")
    }
    for model in trial_models():
        assert model.history.using(alias).count() == result.rows[model.DICTIONARY_TABLE]


def test_invalid_study_is_refused_with_messages_and_nothing_written(alias, bundled_study):
    labs = bundled_study["labs"].copy()
    hgb = labs.index[labs["test"] == "HGB"][0]
    labs.loc[hgb, "value"] = 300.0  # HGB hard range [10, 250] g/L
    labs.loc[labs.index[0], "subject_id"] = "NOBODY"
    broken = bundled_study.with_table("labs", labs)
    with pytest.raises(LoadRefusedError) as info:
        load_study(broken, LOADER, using=alias)
    messages = [str(p) for p in info.value.problems]
    assert any(
        "labs.csv:" in m and "hard_range [10, 250]" in m and m.endswith("300") for m in messages
    )
    assert any("references" in m and m.endswith("NOBODY") for m in messages)
    assert "not loaded" in str(info.value)
    for model in trial_models():
        assert not model.objects.using(alias).exists(), model.__name__
        assert not model.history.using(alias).exists(), model.__name__
    assert not AuditEntry.objects.using(alias).exists()


def test_second_load_is_refused(alias, small_study):
    load_study(small_study, LOADER, using=alias)
    before = AuditEntry.objects.using(alias).count()
    with pytest.raises(LoadRefusedError, match="already holds study t1"):
        load_study(small_study, LOADER, using=alias)
    assert AuditEntry.objects.using(alias).count() == before
    assert Subject.objects.using(alias).count() == 4


def test_export_of_one_site(alias, small_study):
    load_study(small_study, LOADER, using=alias)
    part = export_study(site="S2", using=alias)
    assert part.subject_ids == ("S2-1", "S2-2")
    assert list(part["sites"]["site_id"]) == ["S2"]
    assert len(part["arms"]) == 1 and len(part["study"]) == 1
    assert part.source == f"edc:{alias}:S2"
    with pytest.raises(LookupError, match=r"no site 'S9'.*S1, S2"):
        export_study(site="S9", using=alias)


def test_export_by_a_user_shows_only_visible_subjects_and_is_audited(alias, small_study, make_user):
    load_study(small_study, LOADER, using=alias)
    coordinator = make_user("cora", role="coordinator", site="S1")
    statistician = make_user("stan", role="statistician")
    assert export_study(user=coordinator).subject_ids == ("S1-1", "S1-2")
    assert len(export_study(user=statistician).subject_ids) == 4
    exports = AuditEntry.objects.using(alias).filter(action="export").order_by("seq")
    assert [e.username for e in exports] == ["cora", "stan"]
    detail = json.loads(exports[0].detail)
    assert detail["site"] == "all" and detail["rows"]["subjects"] == 2


def test_exported_rows_reflect_audited_edits(alias, small_study, make_user):
    from saatrial.edc.audit.service import audited_save

    load_study(small_study, LOADER, using=alias)
    user = make_user("ana", role="coordinator", site="S1")
    subject = Subject.objects.using(alias).get(subject_id="S1-1")
    subject.weight_kg = 26.5
    audited_save(subject, user, reason="re-weighed at visit")
    exported = export_study(using=alias)
    weights = dict(
        zip(exported["subjects"]["subject_id"], exported["subjects"]["weight_kg"], strict=True)
    )
    assert weights["S1-1"] == 26.5 and weights["S1-2"] == 25.0
    assert not Lab.objects.using(alias).exists()


@pytest.mark.parametrize("alias", ["sqlite"], indirect=True)
def test_xlsx_export_reads_back_identical(alias, bundled_study, tmp_path):
    load_study(bundled_study, LOADER, using=alias)
    path = export_study(using=alias).write_xlsx(tmp_path / "study.xlsx")
    assert StudyData.read(path).csv_files() == bundled_study.csv_files()
