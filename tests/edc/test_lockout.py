"""Login auditing and lockout after repeated failed logins (policy: 5 within 15 min, 15 min lock).

The rule is checked on hand-worked times at its boundaries; the login flow
through Django's test client on the default database.
"""

from __future__ import annotations

import datetime as dt

import pytest

from saatrial.edc.accounts.lockout import (
    LockoutPolicy,
    current_lockout,
    lock_decision,
    policy_from_settings,
)
from saatrial.edc.accounts.services import AccountError, unlock_user
from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry

T0 = dt.datetime(2024, 6, 1, 8, 0, 0, tzinfo=dt.UTC)
POLICY = LockoutPolicy(max_failures=5, window=dt.timedelta(minutes=15))
PASSWORD = "correct horse battery"


def at(*seconds: float) -> list[dt.datetime]:
    return [T0 + dt.timedelta(seconds=s) for s in seconds]


# --- the rule ---------------------------------------------------------------------------------
def test_four_failures_do_not_lock():
    decision = lock_decision(at(0, 10, 20, 30), T0 + dt.timedelta(seconds=30), POLICY)
    assert (decision.lock, decision.failures_in_window, decision.locked_until) == (False, 4, None)


def test_fifth_failure_within_the_window_locks_for_fifteen_minutes():
    decision = lock_decision(at(0, 10, 20, 30, 40), T0 + dt.timedelta(seconds=40), POLICY)
    assert decision.lock and decision.failures_in_window == 5
    assert decision.locked_until == dt.datetime(2024, 6, 1, 8, 15, 40, tzinfo=dt.UTC)


def test_window_boundary():
    # now = 08:15:00; a failure at 08:00:00 is exactly 15 min old: outside the window
    # (now - 15 min, now]
    now = T0 + dt.timedelta(minutes=15)
    assert not lock_decision(at(0, 900, 900, 900, 900), now, POLICY).lock
    # one second later in the window (08:00:01) it counts: 5 failures -> lock
    assert lock_decision(at(1, 900, 900, 900, 900), now, POLICY).lock


def test_policy_refuses_nonsense_and_reads_settings():
    with pytest.raises(ValueError, match="max_failures"):
        LockoutPolicy(max_failures=0)
    with pytest.raises(ValueError, match="positive"):
        LockoutPolicy(window=dt.timedelta(0))
    assert policy_from_settings() == LockoutPolicy(
        5, dt.timedelta(minutes=15), dt.timedelta(minutes=15)
    )


# --- the login flow ---------------------------------------------------------------------------
on_db = pytest.mark.django_db


def login(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def actions(username: str) -> list[str]:
    return list(
        AuditEntry.objects.filter(username=username)
        .order_by("seq")
        .values_list("action", flat=True)
    )


@pytest.fixture
def ana(django_user_model):
    return django_user_model.objects.create_user("ana", password=PASSWORD)


@on_db
def test_login_logout_and_failed_login_are_audited(client, ana):
    assert login(client, "ana", "wrong").status_code == 200
    response = login(client, "ana", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    client.post("/accounts/logout/")
    assert actions("ana") == ["login_failed", "login", "logout"]
    entries = AuditEntry.objects.filter(username="ana").order_by("seq")
    assert all(e.detail == "client 127.0.0.1" for e in entries)
    assert entries[1].user_id == ana.pk and entries[1].record_pk == str(ana.pk)


@on_db
def test_five_failures_lock_the_account_even_for_the_right_password(client, ana):
    for _ in range(4):
        login(client, "ana", "wrong")
    assert not current_lockout("ana").locked
    response = login(client, "ana", "wrong")  # 5th
    assert "account is locked until" in response.content.decode()
    status = current_lockout("ana")
    assert status.locked
    response = login(client, "ana", PASSWORD)
    assert response.status_code == 200 and "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert actions("ana") == ["login_failed"] * 5 + ["lockout", "login_refused"]
    lock = AuditEntry.objects.get(username="ana", action="lockout")
    assert lock.new_value == status.locked_until.isoformat(timespec="microseconds")
    # the lock ends by itself after 15 minutes
    assert not current_lockout("ana", now=status.locked_until + dt.timedelta(seconds=1)).locked
    assert current_lockout("ana", now=status.locked_until - dt.timedelta(seconds=1)).locked


@on_db
def test_administrator_unlock_needs_a_reason_and_restores_login(client, ana):
    for _ in range(5):
        login(client, "ana", "wrong")
    admin = Actor(None, "cli:admin")
    with pytest.raises(AccountError, match="reason"):
        unlock_user("ana", admin, " ")
    assert current_lockout("ana").locked
    unlock_user("ana", admin, "identity confirmed by phone")
    assert not current_lockout("ana").locked
    assert login(client, "ana", PASSWORD).status_code == 302
    unlock = AuditEntry.objects.get(action="unlock")
    assert (unlock.username, unlock.record_key, unlock.reason) == (
        "cli:admin",
        "ana",
        "identity confirmed by phone",
    )


@on_db
def test_a_successful_login_resets_the_count(client, ana):
    for _ in range(4):
        login(client, "ana", "wrong")
    assert login(client, "ana", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(4):
        login(client, "ana", "wrong")
    assert not current_lockout("ana").locked


@on_db
def test_unknown_names_are_audited_and_locked_alike(client):
    for _ in range(5):
        login(client, "mallory", "guess")
    assert current_lockout("mallory").locked
    assert actions("mallory") == ["login_failed"] * 5 + ["lockout"]
