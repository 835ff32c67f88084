"""E-signatures: password re-entry, stated meaning, SHA-256 of the casebook, voided by edits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from importlib import resources

import pytest
import yaml
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connections, transaction

from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.service import audited_save
from saatrial.edc.signatures.models import Signature, SignatureWriteError
from saatrial.edc.signatures.service import (
    SignatureRefusedError,
    SignatureState,
    current_casebook_sha256,
    sign_casebook,
    signature_status,
)
from saatrial.edc.trial.models import Lab, Subject

from .conftest import ALL_DATABASES
from .crf_helpers import PASSWORD, lab, load_small_study, make_users

RAW = yaml.safe_load(resources.files("saatrial").joinpath("dictionary.yaml").read_text("utf-8"))
SUBJECT_TABLES = [
    t for t in RAW["tables"] if t not in ("study", "sites", "arms", "dose_levels", "provenance")
]


@pytest.fixture
def setup(alias):
    load_small_study(alias)
    users = make_users(alias)
    row = lab("S1-1", "2014-03-01", "HGB", 95.0, using=alias)
    return alias, users, Subject.objects.using(alias).get(subject_id="S1-1"), row


@ALL_DATABASES
def test_hash_is_sha256_of_the_documented_serialisation(setup):
    alias, _, _, _ = setup
    # written out by hand from the module docstring and the minimal study (tests/edc/studies.py)
    tables = {t: {"fields": list(RAW["tables"][t]["fields"]), "rows": []} for t in SUBJECT_TABLES}
    tables["subjects"]["rows"] = [
        [
            "S1-1",
            "S1",
            "CONTROL",
            "NONE",
            "F",
            "2008-03-01",
            "2014-02-01",
            "25",
            "",
            "2014-02-10",
            "2014-02-12",
        ]
    ]
    tables["labs"]["rows"] = [["S1-1", "2014-03-01", "HGB", "95", "g/L", "", "", ""]]
    text = json.dumps(
        {"subject_id": "S1-1", "tables": tables},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert current_casebook_sha256("S1-1", alias) == hashlib.sha256(text.encode()).hexdigest()


@ALL_DATABASES
def test_sign_then_edit_voids_the_signature_visibly(setup):
    alias, u, subject, row = setup
    assert signature_status(subject, alias).state is SignatureState.UNSIGNED
    sig = sign_casebook(u["ivan"], subject, PASSWORD, "approval", using=alias)
    assert (sig.signer_username, sig.meaning) == ("ivan", "I approve the data of this casebook.")
    assert sig.content_sha256 == current_casebook_sha256("S1-1", alias)
    assert sig.signed_at.tzinfo is not None
    entry = AuditEntry.objects.using(alias).get(seq=sig.audit_seq)
    assert (entry.action, entry.username, entry.subject_id, entry.new_value, entry.reason) == (
        "signed",
        "ivan",
        "S1-1",
        sig.content_sha256,
        "I approve the data of this casebook.",
    )
    status = signature_status(subject, alias)
    assert status.state is SignatureState.VALID and status.text.startswith("signed by ivan on ")

    row.value = 97.0
    audited_save(row, u["cora"], "transcription error", using=alias)
    status = signature_status(subject, alias)
    assert status.state is SignatureState.VOID
    when = status.change.timestamp.strftime("%Y-%m-%d %H:%M")
    assert status.text.startswith(f"void: data changed after signing on {when} UTC by cora")
    assert "labs S1-1|2014-03-01|HGB value" in status.text

    row.value = 95.0  # back to the signed value: the content hash matches again ...
    audited_save(row, u["cora"], "undo", using=alias)
    status = signature_status(subject, alias)
    assert status.current_sha256 == sig.content_sha256
    assert status.state is SignatureState.VOID  # ... but a change followed the signature

    sign_casebook(u["ivan"], subject, PASSWORD, "review", using=alias)
    assert signature_status(subject, alias).state is SignatureState.VALID


@ALL_DATABASES
def test_changes_elsewhere_and_locking_do_not_void(setup):
    alias, u, subject, _ = setup
    sign_casebook(u["ivan"], subject, PASSWORD, "responsibility", using=alias)
    lab("S1-2", "2014-03-01", "HGB", 90.0, using=alias)  # another subject
    subject.locked = True
    audited_save(subject, u["dana"], "casebook lock", using=alias)
    assert signature_status(subject, alias).state is SignatureState.VALID


@ALL_DATABASES
def test_wrong_password_and_wrong_signer_are_refused_and_audited(setup):
    alias, u, subject, _ = setup
    with pytest.raises(SignatureRefusedError, match="password not accepted"):
        sign_casebook(u["ivan"], subject, "wrong password!", "approval", using=alias)
    # failed logins are audited by the accounts signal handler, in the web's (default) database
    failed = AuditEntry.objects.using("default").filter(action="login_failed", username="ivan")
    assert failed.count() == 1
    with pytest.raises(SignatureRefusedError, match="meaning 'whatever' unknown"):
        sign_casebook(u["ivan"], subject, PASSWORD, "whatever", using=alias)
    for who in ("cora", "mona", "dana", "stan", "audrey", "adam"):
        with pytest.raises(PermissionDenied, match="no can_sign"):
            sign_casebook(u[who], subject, PASSWORD, "approval", using=alias)
    assert not Signature.objects.using(alias).exists()


@ALL_DATABASES
def test_signatures_are_append_only(setup):
    alias, u, subject, _ = setup
    sig = sign_casebook(u["ivan"], subject, PASSWORD, "approval", using=alias)
    sig.meaning = "forged"
    with pytest.raises(SignatureWriteError):
        sig.save()
    with pytest.raises(SignatureWriteError):
        sig.delete()
    with pytest.raises(SignatureWriteError):
        Signature.objects.using(alias).update(meaning="forged")
    for sql in (
        "UPDATE signatures_signature SET meaning = 'forged'",
        "DELETE FROM signatures_signature",
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute(sql)
    assert Signature.objects.using(alias).get().meaning == "I approve the data of this casebook."


@ALL_DATABASES
def test_change_behind_the_application_voids_too(setup):
    alias, u, subject, row = setup
    sign_casebook(u["ivan"], subject, PASSWORD, "approval", using=alias)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("UPDATE trial_labs SET value = 99 WHERE id = %s", [row.pk])
    status = signature_status(subject, alias)
    assert status.state is SignatureState.VOID and "no audited change" in status.text


@pytest.mark.django_db
def test_sign_on_the_web_and_edit_after_signing(client):
    load_small_study()
    u = make_users()
    row = lab("S1-1", "2014-03-01", "HGB", 95.0)
    client.force_login(u["ivan"])
    page = client.get("/subjects/S1-1/sign/").content.decode()
    assert 'id="signature-state" class="unsigned"' in page
    r = client.post("/subjects/S1-1/sign/", {"meaning": "approval", "password": "nope"})
    assert r.status_code == 200 and "password not accepted" in r.content.decode()
    r = client.post("/subjects/S1-1/sign/", {"meaning": "approval", "password": PASSWORD})
    assert r.status_code == 302
    header = client.get("/subjects/S1-1/").content.decode()
    assert 'id="hdr-signature" class="valid">signed by ivan on ' in header

    r = client.post(
        f"/subjects/S1-1/labs/{row.pk}/edit/",
        {"lab_date": "2014-03-01", "test": "HGB", "value": "96", "unit": "g/L", "reason": "typo"},
    )
    assert r.status_code == 302
    header = client.get("/subjects/S1-1/").content.decode()
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert f'id="hdr-signature" class="void">void: data changed after signing on {today}' in header
    assert "UTC by ivan" in header
    assert Lab.objects.get(pk=row.pk).value == 96.0
