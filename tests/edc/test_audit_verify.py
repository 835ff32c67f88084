"""verify_chain finds rows altered, removed or added behind the application's back.

To tamper, each test drops the append-only triggers inside its own test
transaction (rolled back at the end, triggers included) - as a database
owner could.
"""

from __future__ import annotations

import pytest
from django.db import connections

from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.service import record_event
from saatrial.edc.audit.triggers import create_statements, drop_statements
from saatrial.edc.audit.verify import verify_chain
from saatrial.edc.load import load_study

from .conftest import ALL_DATABASES

pytestmark = ALL_DATABASES


@pytest.fixture
def loaded(alias, small_study):
    load_study(small_study, Actor(None, "cli:test"), using=alias)
    return alias


def tamper(alias: str, *statements: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        for sql in drop_statements(connection.vendor, "audit_auditentry"):
            cursor.execute(sql)
        for sql in statements:
            cursor.execute(sql)
        for sql in create_statements(connection.vendor, "audit_auditentry"):
            cursor.execute(sql)


def test_intact_chain(loaded):
    # small_study, one entry per non-empty field: study 8 + locked = 9, sites 2 x 3 = 6,
    # arms 1 x 2 = 2, dose_levels 1 x 3 = 3, subjects 4 x (10 + locked) = 44 -> 64
    result = verify_chain(loaded)
    assert result.intact
    assert result.rows == AuditEntry.objects.using(loaded).count() == 64
    assert result.message().startswith("64 rows, chain intact")


def test_empty_trail_is_intact(alias):
    result = verify_chain(alias)
    assert result.intact and result.rows == 0


def test_altered_value_is_found_at_its_row(loaded):
    target = AuditEntry.objects.using(loaded).get(seq=7)
    tamper(loaded, "UPDATE audit_auditentry SET new_value = '99' WHERE seq = 7")
    result = verify_chain(loaded)
    assert not result.intact
    assert (result.broken_seq, result.broken_id) == (7, target.pk)
    assert "hash mismatch" in result.problem
    assert f"at seq 7 (id {target.pk})" in result.message()


def test_altered_timestamp_or_user_is_found(loaded):
    tamper(loaded, "UPDATE audit_auditentry SET username = 'someone else' WHERE seq = 3")
    assert verify_chain(loaded).broken_seq == 3


def test_rehashed_row_breaks_the_next_link(loaded):
    # a forger who also fixes the row's own hash still breaks the link to the next row
    tamper(loaded, "UPDATE audit_auditentry SET hash = 'f' || substr(hash, 2) WHERE seq = 4")
    result = verify_chain(loaded)
    assert result.broken_seq in (4, 5)
    assert not result.intact


def test_removed_row_is_found(loaded):
    tamper(loaded, "DELETE FROM audit_auditentry WHERE seq = 10")
    result = verify_chain(loaded)
    assert result.broken_seq == 11 and "sequence gap" in result.problem


def test_removed_tail_is_found_by_the_chain_head(loaded):
    last = AuditEntry.objects.using(loaded).count()
    tamper(loaded, f"DELETE FROM audit_auditentry WHERE seq > {last - 2}")
    result = verify_chain(loaded)
    assert not result.intact and "removed from the end" in result.problem


def test_entry_appended_behind_the_service_is_found(loaded):
    last = AuditEntry.objects.using(loaded).order_by("-seq").first()
    tamper(
        loaded,
        "INSERT INTO audit_auditentry (seq, timestamp, user_id, username, action, table_name, "
        "record_pk, record_key, subject_id, field_name, old_value, new_value, reason, detail, "
        f"prev_hash, hash) VALUES ({last.seq + 1}, '2024-01-01 00:00:00', NULL, 'x', 'export', "
        f"'', '', '', '', '', NULL, NULL, '', '', '{last.hash}', '{'0' * 64}')",
    )
    result = verify_chain(loaded)
    assert not result.intact and result.broken_seq == last.seq + 1


def test_chain_continues_after_verification(loaded):
    record_event(Actor(None, "cli:test"), "export", using=loaded)
    assert verify_chain(loaded).intact
