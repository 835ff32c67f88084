"""audited_save / audited_delete: one audit entry per changed field, one transaction, reasons.

Every test runs on SQLite and (with SAATRIAL_TEST_DATABASE_URL) on PostgreSQL.
Expected values are written out by hand from the dictionary's rules
(HGB hard range [10, 250] g/L; weight_kg hard range [1, 200] kg).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core.exceptions import ValidationError

from saatrial.edc.audit import service
from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.service import (
    ReasonRequiredError,
    RecordLockedError,
    UnauditedWriteError,
    audited_delete,
    audited_save,
)
from saatrial.edc.audit.verify import verify_chain
from saatrial.edc.load import load_study
from saatrial.edc.trial.models import Lab, Study, Subject

from .conftest import ALL_DATABASES

pytestmark = ALL_DATABASES

LOADER = Actor(None, "cli:test")


@pytest.fixture
def loaded(alias, small_study):
    load_study(small_study, LOADER, using=alias)
    return alias


@pytest.fixture
def ana(loaded, make_user):
    return make_user("ana", role="coordinator", site="S1")


def new_lab(alias: str, value: float = 85.0, **extra) -> Lab:
    subject = Subject.objects.using(alias).get(subject_id="S1-1")
    values = {"subject": subject, "lab_date": dt.date(2014, 3, 1), "test": "HGB", "unit": "g/L"}
    return Lab(**{**values, "value": value, **extra})


def entries(alias: str, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.using(alias).filter(**filters).order_by("seq"))


def test_create_records_every_non_empty_field(loaded, ana):
    record = audited_save(new_lab(loaded), ana)
    assert record.action == "create"
    rows = entries(loaded, table_name="labs", record_pk=record.record_pk)
    got = {(e.field_name, e.old_value, e.new_value) for e in rows}
    assert got == {
        ("subject_id", None, "S1-1"),
        ("lab_date", None, "2014-03-01"),
        ("test", None, "HGB"),
        ("value", None, "85.0"),
        ("unit", None, "g/L"),
    }
    for e in rows:
        assert (e.action, e.username, e.user_id) == ("create", "ana", ana.pk)
        assert e.subject_id == "S1-1" and e.record_key == "S1-1|2014-03-01|HGB"
        assert e.timestamp.utcoffset() == dt.timedelta(0)


def test_update_records_old_new_and_reason_of_changed_fields_only(loaded, ana):
    audited_save(new_lab(loaded), ana)
    lab = Lab.objects.using(loaded).get(test="HGB")
    lab.value = 78.5
    lab.pre_transfusion = True
    record = audited_save(lab, ana, reason="transcription error")
    assert record.action == "update"
    rows = entries(loaded, table_name="labs", action="update")
    assert {(e.field_name, e.old_value, e.new_value, e.reason) for e in rows} == {
        ("value", "85.0", "78.5", "transcription error"),
        ("pre_transfusion", None, "true", "transcription error"),
    }
    assert Lab.objects.using(loaded).get(pk=lab.pk).value == 78.5


def test_update_without_reason_is_refused_and_nothing_is_saved(loaded, ana):
    audited_save(new_lab(loaded), ana)
    lab = Lab.objects.using(loaded).get(test="HGB")
    before_audit = AuditEntry.objects.using(loaded).count()
    before_history = Lab.history.using(loaded).count()
    lab.value = 70.0
    for blank in ("", "   ", None):
        with pytest.raises(ReasonRequiredError, match="a reason is required"):
            audited_save(lab, ana, reason=blank)
    assert Lab.objects.using(loaded).get(pk=lab.pk).value == 85.0
    assert AuditEntry.objects.using(loaded).count() == before_audit
    assert Lab.history.using(loaded).count() == before_history


def test_unchanged_update_writes_nothing(loaded, ana):
    audited_save(new_lab(loaded), ana)
    lab = Lab.objects.using(loaded).get(test="HGB")
    before = AuditEntry.objects.using(loaded).count()
    assert audited_save(lab, ana, reason="no change").action == "none"
    assert AuditEntry.objects.using(loaded).count() == before


def test_delete_needs_a_reason_and_records_the_old_values(loaded, ana):
    record = audited_save(new_lab(loaded), ana)
    lab = Lab.objects.using(loaded).get(pk=record.record_pk)
    with pytest.raises(ReasonRequiredError):
        audited_delete(lab, ana, reason="")
    assert Lab.objects.using(loaded).filter(pk=record.record_pk).exists()
    audited_delete(lab, ana, reason="entered for the wrong subject")
    assert not Lab.objects.using(loaded).filter(pk=record.record_pk).exists()
    rows = entries(loaded, table_name="labs", action="delete")
    assert {(e.field_name, e.old_value, e.new_value) for e in rows} == {
        ("subject_id", "S1-1", None),
        ("lab_date", "2014-03-01", None),
        ("test", "HGB", None),
        ("value", "85.0", None),
        ("unit", "g/L", None),
    }
    assert {e.reason for e in rows} == {"entered for the wrong subject"}
    kinds = list(
        Lab.history.using(loaded)
        .filter(id=int(record.record_pk))
        .values_list("history_type", "history_change_reason")
    )
    assert sorted(kinds) == sorted([("+", ""), ("-", "entered for the wrong subject")])


def test_writes_outside_the_audit_service_are_refused(loaded, ana):
    with pytest.raises(UnauditedWriteError, match="audited_save"):
        new_lab(loaded).save(using=loaded)
    subject = Subject.objects.using(loaded).get(subject_id="S1-1")
    with pytest.raises(UnauditedWriteError):
        subject.delete()
    with pytest.raises(UnauditedWriteError):
        Subject.objects.using(loaded).filter(subject_id="S1-1").update(weight_kg=30)
    with pytest.raises(UnauditedWriteError):
        Subject.objects.using(loaded).filter(subject_id="S1-1").delete()
    with pytest.raises(UnauditedWriteError):
        Lab.objects.using(loaded).bulk_create([new_lab(loaded)])
    assert Subject.objects.using(loaded).get(subject_id="S1-1").weight_kg == 25.0


@pytest.mark.parametrize(
    ("value", "ok"),
    [(10.0, True), (9.9, False), (250.0, True), (250.1, False)],
    ids=["hgb-10-lower-bound", "hgb-9.9-below", "hgb-250-upper-bound", "hgb-250.1-above"],
)
def test_lab_value_outside_the_tests_hard_range_is_refused(loaded, ana, value, ok):
    # dictionary lab_tests.HGB: hard_range [10, 250] g/L, inclusive
    before = AuditEntry.objects.using(loaded).count()
    if ok:
        audited_save(new_lab(loaded, value), ana)
        assert Lab.objects.using(loaded).filter(value=value).exists()
    else:
        with pytest.raises(ValidationError, match=r"hard_range \[10, 250\] for HGB"):
            audited_save(new_lab(loaded, value), ana)
        assert AuditEntry.objects.using(loaded).count() == before
        assert not Lab.objects.using(loaded).exists()


def test_lab_unit_must_be_the_tests_unit(loaded, ana):
    with pytest.raises(ValidationError, match="lab_unit"):
        audited_save(new_lab(loaded, 8.5, unit="g/dL"), ana)


@pytest.mark.parametrize(
    ("weight_kg", "ok"), [(200.0, True), (200.1, False), (1.0, True), (0.9, False)]
)
def test_subject_weight_hard_range(loaded, ana, weight_kg, ok):
    # dictionary subjects.weight_kg: hard_range [1, 200]
    subject = Subject.objects.using(loaded).get(subject_id="S1-2")
    subject.weight_kg = weight_kg
    if ok:
        audited_save(subject, ana, reason="re-weighed")
        assert Subject.objects.using(loaded).get(subject_id="S1-2").weight_kg == weight_kg
    else:
        with pytest.raises(ValidationError, match="weight_kg"):
            audited_save(subject, ana, reason="re-weighed")
        assert Subject.objects.using(loaded).get(subject_id="S1-2").weight_kg == 25.0


def test_code_outside_the_code_list_and_missing_required_field_are_refused(loaded, ana):
    with pytest.raises(ValidationError, match="test"):
        audited_save(new_lab(loaded, 5.0, test="XYZ"), ana)
    subject = Subject.objects.using(loaded).get(subject_id="S1-1")
    subject.sex = ""
    with pytest.raises(ValidationError, match="sex"):
        audited_save(subject, ana, reason="typo")


def test_dose_level_must_belong_to_the_subjects_arm(loaded, ana):
    subject = Subject.objects.using(loaded).get(subject_id="S1-1")
    subject.dose_level_id = "MSC-1"
    with pytest.raises(ValidationError, match="dose_level_arm"):
        audited_save(subject, ana, reason="wrong dose level")


def test_locked_subject_refuses_changes_until_unlocked(loaded, ana):
    subject = Subject.objects.using(loaded).get(subject_id="S1-1")
    subject.locked = True
    audited_save(subject, ana, reason="casebook complete")
    with pytest.raises(RecordLockedError, match="subject S1-1 is locked"):
        audited_save(new_lab(loaded), ana)
    subject.weight_kg = 26.0
    with pytest.raises(RecordLockedError):
        audited_save(subject, ana, reason="late correction")
    subject.refresh_from_db()
    subject.locked = False
    audited_save(subject, ana, reason="reopened for a query")
    audited_save(new_lab(loaded), ana)  # allowed again
    # another subject was never locked
    other = Subject.objects.using(loaded).get(subject_id="S1-2")
    other.weight_kg = 24.0
    audited_save(other, ana, reason="re-weighed")


def test_locked_study_refuses_every_change_but_unlocking(loaded, ana):
    study = Study.objects.using(loaded).get()
    study.locked = True
    audited_save(study, ana, reason="database lock")
    with pytest.raises(RecordLockedError, match="study t1 is locked"):
        audited_save(new_lab(loaded), ana)
    study.title = "renamed"
    with pytest.raises(RecordLockedError):
        audited_save(study, ana, reason="typo")
    study.refresh_from_db()
    study.locked = False
    audited_save(study, ana, reason="unlock for late data")
    audited_save(new_lab(loaded), ana)


def test_a_failure_while_auditing_leaves_the_row_unsaved(loaded, ana, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "append_entries", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        audited_save(new_lab(loaded), ana)
    assert not Lab.objects.using(loaded).exists()
    assert not Lab.history.using(loaded).exists()


def test_entries_form_an_unbroken_chain(loaded, ana):
    record = audited_save(new_lab(loaded), ana)
    lab = Lab.objects.using(loaded).get(pk=record.record_pk)
    lab.value = 90.0
    audited_save(lab, ana, reason="recheck")
    rows = entries(loaded)
    assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
        assert after.hash == after.computed_hash()
    result = verify_chain(loaded)
    assert result.intact and result.rows == len(rows)
    assert result.head_hash == rows[-1].hash


def test_duplicate_key_is_refused_by_validation(loaded, ana):
    audited_save(new_lab(loaded), ana)
    before = AuditEntry.objects.using(loaded).count()
    with pytest.raises(ValidationError, match="already exists"):
        audited_save(new_lab(loaded, 90.0), ana)  # same subject, date and test
    assert Lab.objects.using(loaded).count() == 1
    assert AuditEntry.objects.using(loaded).count() == before


def test_one_study_per_database(loaded, ana):
    other = Study(
        study_id="t2",
        registry_id="NCT1",
        title="another",
        protocol_id="nct02218437",
        enrolment_start=dt.date(2014, 1, 1),
        enrolment_end=dt.date(2014, 2, 1),
        data_cutoff_date=dt.date(2015, 1, 1),
        dictionary_version="1.0.0",
    )
    with pytest.raises(RecordLockedError, match="already holds a study"):
        audited_save(other, ana)
