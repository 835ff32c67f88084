"""Source-data verification: a monitor marks a record verified; any later change clears the mark.

Hand-worked expectations from issue 7 §3 ("monitor ... mark source-verified")
and the G3 brief ("any later change to that record clears the SDV mark
visibly"): the mark holds while the record is unchanged; an audited update or
delete of THAT record clears it (also when the value is changed back); changes
of other records, locking the casebook and signing do not; a record altered
behind the application's back clears it too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.service import audited_delete, audited_save
from saatrial.edc.audit.verify import verify_chain
from saatrial.edc.sdv.models import SdvWriteError, SourceVerification
from saatrial.edc.sdv.service import (
    DEFAULT_NOTE,
    SdvRefusedError,
    SdvState,
    record_sha256,
    record_values,
    sdv_states,
    sdv_status,
    verify_record,
)
from saatrial.edc.signatures.service import SignatureState, sign_casebook, signature_status
from saatrial.edc.trial.models import Lab, Subject

from .conftest import ALL_DATABASES
from .crf_helpers import PASSWORD, lab, load_small_study, make_users

# the lab row below, serialised by hand as the module docstring of sdv.service describes
# (casebook_bytes of one table with one row; numbers as format(x, ".10g"), empty = "")
HGB_ROW_JSON = (
    '{"subject_id":"S1-1","tables":{"labs":{"fields":["subject_id","lab_date","test","value",'
    '"unit","lln","uln","pre_transfusion"],"rows":[["S1-1","2014-03-01","HGB","95","g/L","","",'
    '""]]}}}'
)


@pytest.fixture
def setup(alias):
    load_small_study(alias)
    users = make_users(alias)
    row = lab("S1-1", "2014-03-01", "HGB", 95.0, using=alias)
    other = lab("S1-1", "2014-03-01", "PLT", 20.0, using=alias)
    subject = Subject.objects.using(alias).get(subject_id="S1-1")
    return alias, users, subject, row, other


def digest(row) -> str:
    return record_sha256(row.subject_id, "labs", record_values("labs", row))


def state(subject, row, alias):
    return sdv_status(subject, "labs", row.pk, alias)


@ALL_DATABASES
def test_record_hash_is_sha256_of_the_documented_serialisation(setup):
    _alias, _, _, row, _ = setup
    assert digest(row) == hashlib.sha256(HGB_ROW_JSON.encode()).hexdigest()
    json.loads(HGB_ROW_JSON)  # the hand-written text is valid JSON


@ALL_DATABASES
def test_verify_stores_the_mark_and_an_audit_entry(setup):
    alias, u, subject, row, _ = setup
    assert state(subject, row, alias).state is SdvState.UNVERIFIED
    assert state(subject, row, alias).text == "not source-verified"
    mark = verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)
    entry = AuditEntry.objects.using(alias).get(seq=mark.audit_seq)
    assert (entry.action, entry.username, entry.table_name, entry.record_pk) == (
        "source_verified",
        "mona",
        "labs",
        str(row.pk),
    )
    assert (entry.record_key, entry.subject_id, entry.new_value, entry.reason) == (
        "S1-1|2014-03-01|HGB",
        "S1-1",
        hashlib.sha256(HGB_ROW_JSON.encode()).hexdigest(),
        DEFAULT_NOTE,
    )
    assert mark.verified_at == entry.timestamp and mark.verified_at.tzinfo is not None
    status = state(subject, row, alias)
    when = mark.verified_at.strftime("%Y-%m-%d %H:%M")
    assert status.state is SdvState.VERIFIED
    assert status.text == f"verified by mona on {when} UTC"
    assert verify_chain(alias).intact
    # a note is the audit entry's reason
    other_mark = verify_record(
        u["mona"],
        subject,
        "subjects",
        subject.pk,
        record_sha256("S1-1", "subjects", record_values("subjects", subject)),
        "checked against the ID card",
        using=alias,
    )
    assert AuditEntry.objects.using(alias).get(seq=other_mark.audit_seq).reason == (
        "checked against the ID card"
    )


@ALL_DATABASES
def test_a_later_change_of_the_record_clears_the_mark_even_when_reverted(setup):
    alias, u, subject, row, _ = setup
    verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)
    row.value = 97.0
    audited_save(row, u["cora"], "transcription error", using=alias)
    status = state(subject, row, alias)
    assert status.state is SdvState.CLEARED
    when = status.change.timestamp.strftime("%Y-%m-%d %H:%M")
    assert status.text.startswith(
        f"cleared: changed after verification on {when} UTC by cora (value); was verified by mona"
    )
    assert status.short.startswith("cleared: changed by cora ") and "(value)" in status.short

    row.value = 95.0  # back to the verified value: same hash, but a change followed the mark
    audited_save(row, u["cora"], "undo", using=alias)
    assert digest(row) == hashlib.sha256(HGB_ROW_JSON.encode()).hexdigest()
    assert state(subject, row, alias).state is SdvState.CLEARED

    verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)  # verify again
    assert state(subject, row, alias).state is SdvState.VERIFIED


@ALL_DATABASES
def test_other_records_locking_and_signing_do_not_clear(setup):
    alias, u, subject, row, other = setup
    verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)
    subject_hash = record_sha256("S1-1", "subjects", record_values("subjects", subject))
    verify_record(u["mona"], subject, "subjects", subject.pk, subject_hash, using=alias)
    other.value = 21.0  # another record of the same subject
    audited_save(other, u["cora"], "typo", using=alias)
    lab("S1-2", "2014-03-01", "HGB", 95.0, using=alias)  # another subject
    sign_casebook(u["ivan"], subject, PASSWORD, "approval", using=alias)
    subject.locked = True
    audited_save(subject, u["dana"], "casebook lock", using=alias)
    subject.locked = False
    audited_save(subject, u["dana"], "unlock", using=alias)
    subject.refresh_from_db()
    assert state(subject, row, alias).state is SdvState.VERIFIED
    assert sdv_status(subject, "subjects", subject.pk, alias).state is SdvState.VERIFIED
    assert state(subject, other, alias).state is SdvState.UNVERIFIED
    # ... and marking source-verified is not a data change: the signature still holds
    assert signature_status(subject, alias).state is SignatureState.VALID


@ALL_DATABASES
def test_deleting_the_record_clears_its_mark(setup):
    alias, u, subject, row, _ = setup
    verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)
    ref = ("labs", str(row.pk))
    audited_delete(row, u["cora"], "entered for the wrong subject", using=alias)
    status = sdv_states("S1-1", {ref: None}, alias)[ref]
    assert status.state is SdvState.CLEARED
    assert status.text.startswith("cleared: deleted after verification on ")


@ALL_DATABASES
def test_a_change_behind_the_application_clears_too(setup):
    alias, u, subject, row, _ = setup
    verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("UPDATE trial_labs SET value = 99 WHERE id = %s", [row.pk])
    status = state(subject, row, alias)
    assert status.state is SdvState.CLEARED and "no audited change" in status.text


@ALL_DATABASES
def test_a_record_changed_since_it_was_shown_is_not_marked(setup):
    alias, u, subject, row, _ = setup
    shown = digest(row)
    row.value = 96.0
    audited_save(row, u["cora"], "typo", using=alias)
    before = AuditEntry.objects.using(alias).count()
    with pytest.raises(SdvRefusedError, match="changed since it was shown to you"):
        verify_record(u["mona"], subject, "labs", row.pk, shown, using=alias)
    assert AuditEntry.objects.using(alias).count() == before
    assert not SourceVerification.objects.using(alias).exists()


@ALL_DATABASES
def test_only_the_monitor_of_the_site_marks_and_only_records_of_the_subject(setup):
    alias, u, subject, row, _ = setup
    for who in ("ivan", "cora", "dana", "stan", "audrey", "adam"):
        with pytest.raises(PermissionDenied, match="no can_verify_source"):
            verify_record(u[who], subject, "labs", row.pk, digest(row), using=alias)
    s2 = Subject.objects.using(alias).get(subject_id="S2-1")
    with pytest.raises(PermissionDenied, match="at site S2"):  # monitor of S1 only
        verify_record(u["mona"], s2, "labs", row.pk, digest(row), using=alias)
    s12 = Subject.objects.using(alias).get(subject_id="S1-2")
    with pytest.raises(SdvRefusedError, match="not a record of subject S1-2"):
        verify_record(u["mona"], s12, "labs", row.pk, digest(row), using=alias)
    with pytest.raises(SdvRefusedError, match="'sites' is not a subject table"):
        verify_record(u["mona"], subject, "sites", 1, "", using=alias)
    assert not SourceVerification.objects.using(alias).exists()


@ALL_DATABASES
def test_marks_are_append_only(setup):
    alias, u, subject, row, _ = setup
    mark = verify_record(u["mona"], subject, "labs", row.pk, digest(row), using=alias)
    mark.note = "forged"
    with pytest.raises(SdvWriteError):
        mark.save()
    with pytest.raises(SdvWriteError):
        mark.delete()
    with pytest.raises(SdvWriteError):
        SourceVerification.objects.using(alias).update(note="forged")
    with pytest.raises(SdvWriteError):
        SourceVerification(subject=subject, audit_seq=1).save(using=alias)
    for sql in (
        "UPDATE sdv_sourceverification SET note = 'forged'",
        "DELETE FROM sdv_sourceverification",
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute(sql)
    assert SourceVerification.objects.using(alias).get().note == ""


@pytest.mark.django_db
def test_verify_on_the_web_and_see_the_mark_cleared_by_an_edit(client):
    load_small_study()
    u = make_users()
    row = lab("S1-1", "2014-03-01", "HGB", 95.0)
    client.force_login(u["mona"])
    page = client.get("/subjects/S1-1/").content.decode()
    assert f'id="sdv-labs-{row.pk}" class="sdv-unverified"' in page
    assert f'id="verify-labs-{row.pk}" href="/subjects/S1-1/labs/{row.pk}/verify/"' in page
    url = f"/subjects/S1-1/labs/{row.pk}/verify/"
    form = client.get(url).content.decode()
    assert 'id="sdv-value-value">95<' in form and digest(row) in form
    # the statement box is required: nothing is marked without it
    r = client.post(url, {"content_sha256": digest(row), "note": ""})
    assert r.status_code == 200 and "This field is required" in r.content.decode()
    r = client.post(url, {"content_sha256": digest(row), "compared": "on", "note": "ok"})
    assert r.status_code == 302 and r["Location"] == "/subjects/S1-1/#section-labs"
    page = client.get("/subjects/S1-1/").content.decode()
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert f'class="sdv-verified" title="verified by mona on {today}' in page
    assert f'id="verify-labs-{row.pk}"' not in page  # verified: no link

    client.force_login(u["cora"])  # the site corrects the value after verification
    r = client.post(
        f"/subjects/S1-1/labs/{row.pk}/edit/",
        {"lab_date": "2014-03-01", "test": "HGB", "value": "96", "unit": "g/L", "reason": "typo"},
    )
    assert r.status_code == 302
    page = client.get("/subjects/S1-1/").content.decode()
    assert f'id="sdv-labs-{row.pk}" class="sdv-cleared"' in page
    assert f"cleared: changed by cora {today} (value)" in page
    assert f'id="verify-labs-{row.pk}"' not in page  # cora may not verify
    client.force_login(u["mona"])
    assert f'id="verify-labs-{row.pk}"' in client.get("/subjects/S1-1/").content.decode()
    # the page refuses a mark on values the monitor did not see (changed in between)
    r = client.post(url, {"content_sha256": "0" * 64, "compared": "on"})
    assert r.status_code == 200 and "changed since it was shown to you" in r.content.decode()
    assert SourceVerification.objects.count() == 1
    assert Lab.objects.get(pk=row.pk).value == 96.0


def test_examples_of_the_service_run():
    import doctest

    from saatrial.edc.sdv import service

    result = doctest.testmod(service, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.django_db
def test_subject_page_reads_each_table_once_and_hashes_the_casebook_as_the_signer(
    client, bundled_study
):
    """A casebook with every kind of value (bundled CTL01): signed, then shown as valid.

    The subject page builds the casebook from the rows it shows; its hash must be the
    one :func:`subject_records` gives the signing service, or the page would call a
    fresh signature void.
    """
    from saatrial.edc.accounts.services import create_user
    from saatrial.edc.load import load_study

    from .crf_helpers import CLI

    load_study(bundled_study, CLI)
    ivan = create_user("ivan", PASSWORD, "investigator", "IHBDH", CLI)
    mona = create_user("mona", PASSWORD, "monitor", "IHBDH", CLI)
    subject = Subject.objects.get(subject_id="CTL01")
    sign_casebook(ivan, subject, PASSWORD, "approval")
    client.force_login(mona)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/subjects/CTL01/").content.decode()
    assert 'id="hdr-signature" class="valid">signed by ivan on ' in page
    lab_reads = [q["sql"] for q in queries.captured_queries if 'FROM "trial_labs"' in q["sql"]]
    assert len(lab_reads) == 1
