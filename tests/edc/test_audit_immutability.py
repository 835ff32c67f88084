"""Audit rows cannot be changed or deleted: not by the ORM, not by raw SQL, not in the admin."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connections, transaction

from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry, AuditImmutableError
from saatrial.edc.audit.service import record_event
from saatrial.edc.audit.triggers import protected_tables
from saatrial.edc.load import load_study
from saatrial.edc.trial.models import trial_models

from .conftest import ALL_DATABASES

pytestmark = ALL_DATABASES

APPEND_ONLY = ["audit_auditentry", *(m.history.model._meta.db_table for m in trial_models())]


@pytest.fixture
def loaded(alias, small_study):
    load_study(small_study, Actor(None, "cli:test"), using=alias)
    return alias


def raw(alias: str, sql: str) -> None:
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET new_value = 'forged' WHERE seq = 1",
        "UPDATE audit_auditentry SET reason = 'x'",
        "DELETE FROM audit_auditentry WHERE seq = 1",
        "DELETE FROM audit_auditentry",
        "UPDATE trial_historicalsubject SET weight_kg = 99",
        "DELETE FROM trial_historicalsubject",
    ],
)
def test_raw_sql_update_and_delete_fail(loaded, sql):
    before = list(AuditEntry.objects.using(loaded).values_list("seq", "hash", "new_value"))
    with pytest.raises(IntegrityError, match="append-only"):
        raw(loaded, sql)
    after = list(AuditEntry.objects.using(loaded).values_list("seq", "hash", "new_value"))
    assert after == before


def test_truncate_fails_on_postgresql(postgres_alias, small_study):
    load_study(small_study, Actor(None, "cli:test"), using=postgres_alias)
    with pytest.raises(IntegrityError, match="TRUNCATE on audit_auditentry refused"):
        raw(postgres_alias, "TRUNCATE audit_auditentry")
    assert AuditEntry.objects.using(postgres_alias).exists()


def test_every_audit_and_history_table_is_protected(alias):
    connection = connections[alias]
    tables = protected_tables(connection)
    expected = {"UPDATE", "DELETE"} | ({"TRUNCATE"} if connection.vendor == "postgresql" else set())
    for table in APPEND_ONLY:
        assert tables.get(table) == expected, f"{table}: {tables.get(table)}"
    history_tables = {t for t in connection.introspection.table_names() if "historical" in t}
    assert history_tables <= set(tables), history_tables - set(tables)


def test_model_level_update_and_delete_are_refused(loaded):
    entry = AuditEntry.objects.using(loaded).order_by("seq").first()
    entry.new_value = "forged"
    with pytest.raises(AuditImmutableError, match="cannot be changed"):
        entry.save()
    with pytest.raises(AuditImmutableError, match="cannot be deleted"):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.using(loaded).filter(seq=1).update(new_value="forged")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.using(loaded).filter(seq=1).delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.using(loaded).bulk_update([entry], ["new_value"])
    assert AuditEntry.objects.using(loaded).get(seq=1).new_value != "forged"


def test_entries_cannot_be_forged_through_the_orm(loaded):
    with pytest.raises(AuditImmutableError, match=r"appended by saatrial\.edc\.audit\.service"):
        AuditEntry.objects.using(loaded).create(
            seq=10**6,
            timestamp="2024-01-01T00:00:00Z",
            username="x",
            action="login",
            prev_hash="0" * 64,
            hash="0" * 64,
        )
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.using(loaded).bulk_create([AuditEntry(seq=10**6)])


@pytest.mark.parametrize("alias", ["sqlite"], indirect=True)
def test_admin_offers_no_add_change_or_delete(alias, client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", password="x" * 12)
    entry = record_event(admin_user, "export", detail="test")
    client.force_login(admin_user)
    base = "/admin/audit/auditentry/"
    assert client.get(base).status_code == 200
    view = client.get(f"{base}{entry.pk}/change/")
    assert view.status_code == 200 and b'type="submit" value="Save"' not in view.content
    assert client.post(f"{base}{entry.pk}/change/", {"reason": "forged"}).status_code == 403
    assert client.get(f"{base}{entry.pk}/delete/").status_code == 403
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""
