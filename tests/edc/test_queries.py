"""Data queries: open -> answered -> closed; site and data-management statuses apart;
only the data manager closes; every transition audited; history append-only.

Who may do what is written here from issue 7 §3/§5 (monitor raises, the site -
investigator/coordinator - answers, only the data manager closes), not read
from the role or workflow tables.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connections, transaction

from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.audit.verify import verify_chain
from saatrial.edc.queries.models import DataQuery, QueryWriteError
from saatrial.edc.queries.service import QueryRefusedError, raise_query, transition_query
from saatrial.edc.queries.workflow import overall_status, parse_workflow, plan_transition
from saatrial.edc.trial.models import Subject

from .conftest import ALL_DATABASES
from .crf_helpers import lab, load_small_study, make_users


# --- the pure workflow ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("site", "dm", "status"),
    [
        ("awaiting_response", "open", "open"),
        ("answered", "open", "answered"),
        ("answered", "closed", "closed"),
        ("awaiting_response", "closed", "closed"),
    ],
)
def test_overall_status_from_the_two_statuses(site, dm, status):
    assert overall_status(site, dm) == status


@pytest.mark.parametrize(
    ("site", "dm", "action", "allowed", "after"),
    [
        ("awaiting_response", "open", "answer", True, ("answered", "open")),
        ("answered", "open", "answer", False, ("answered", "open")),
        ("answered", "open", "reopen", True, ("awaiting_response", "open")),
        ("awaiting_response", "open", "reopen", False, ("awaiting_response", "open")),
        ("answered", "open", "close", True, ("answered", "closed")),
        ("awaiting_response", "open", "close", True, ("awaiting_response", "closed")),
        ("answered", "closed", "close", False, ("answered", "closed")),
        ("answered", "closed", "answer", False, ("answered", "closed")),
        ("answered", "closed", "reopen", False, ("answered", "closed")),
    ],
)
def test_transitions(site, dm, action, allowed, after):
    plan = plan_transition(site, dm, action)
    assert plan.allowed is allowed
    assert (plan.site_status, plan.dm_status) == after
    # closing changes only the data-management status; answering only the site status
    if allowed and action == "close":
        assert plan.site_status == site
    if allowed and action in ("answer", "reopen"):
        assert plan.dm_status == dm


def test_workflow_table_is_checked():
    good = {
        "version": "1",
        "source": "s",
        "site_statuses": {"a": "x"},
        "dm_statuses": {"open": "y"},
        "statuses": {"open": {"site_status": "a", "dm_status": "open"}},
        "raise_permission": "can_raise_query",
        "transitions": {"t": {"permission": "can_fly", "from": ["open"], "audit_action": "x"}},
    }
    with pytest.raises(ValueError, match="unknown permission 'can_fly'"):
        parse_workflow(good)
    with pytest.raises(ValueError, match="'version' is missing"):
        parse_workflow({**good, "version": ""})


# --- the service, on every database ---------------------------------------------------------
@pytest.fixture
def setup(alias):
    load_small_study(alias)
    users = make_users(alias)
    row = lab("S1-1", "2014-03-01", "HGB", 95.0, using=alias)
    other = lab("S2-1", "2014-03-01", "HGB", 95.0, using=alias)
    subject = Subject.objects.using(alias).get(subject_id="S1-1")
    return alias, users, subject, row, other


@ALL_DATABASES
def test_full_workflow_is_audited(setup):
    alias, u, subject, row, _ = setup
    q = raise_query(u["mona"], subject, "labs", row.pk, "value", "Please confirm HGB 95.")
    assert (q.status, q.site_status, q.dm_status) == ("open", "awaiting_response", "open")
    assert q.record_key == "S1-1|2014-03-01|HGB"
    q = transition_query(u["cora"], q, "answer", "Confirmed against the lab report.")
    assert (q.status, q.answer, q.answered_by_id) == ("answered", q.answer, u["cora"].pk)
    q = transition_query(u["mona"], q, "reopen", "Please attach the report page.")
    assert (q.status, q.site_status) == ("open", "awaiting_response")
    q = transition_query(u["ivan"], q, "answer", "Page 3 of the report.")
    q = transition_query(u["dana"], q, "close", "Source verified.")
    assert (q.status, q.site_status, q.dm_status) == ("closed", "answered", "closed")
    stored = DataQuery.objects.using(alias).get(pk=q.pk)
    assert (stored.close_note, stored.closed_by_id) == ("Source verified.", u["dana"].pk)

    audit = AuditEntry.objects.using(alias).filter(table_name="data_query", record_pk=str(q.pk))
    got = [
        (e.action, e.username, e.old_value, e.new_value, e.reason) for e in audit.order_by("seq")
    ]
    assert got == [
        ("query_raised", "mona", None, "open", "Please confirm HGB 95."),
        ("query_answered", "cora", "open", "answered", "Confirmed against the lab report."),
        ("query_reopened", "mona", "answered", "open", "Please attach the report page."),
        ("query_answered", "ivan", "open", "answered", "Page 3 of the report."),
        ("query_closed", "dana", "answered", "closed", "Source verified."),
    ]
    assert all(e.subject_id == "S1-1" for e in audit)
    history = DataQuery.history.using(alias).filter(id=q.pk).order_by("history_id")
    assert [(h.site_status, h.dm_status) for h in history] == [
        ("awaiting_response", "open"),
        ("answered", "open"),
        ("awaiting_response", "open"),
        ("answered", "open"),
        ("answered", "closed"),
    ]
    assert verify_chain(using=alias).intact


@ALL_DATABASES
@pytest.mark.parametrize("who", ["ivan", "cora", "mona", "stan", "audrey", "adam"])
def test_only_the_data_manager_closes(setup, who):
    alias, u, subject, row, _ = setup
    q = raise_query(u["dana"], subject, "labs", row.pk, "value", "Check.")
    q = transition_query(u["cora"], q, "answer", "Checked.")
    before = AuditEntry.objects.using(alias).count()
    with pytest.raises(PermissionDenied, match="no can_close_query"):
        transition_query(u[who], q, "close", "closing")
    assert DataQuery.objects.using(alias).get(pk=q.pk).dm_status == "open"
    assert AuditEntry.objects.using(alias).count() == before


@ALL_DATABASES
def test_who_raises_and_who_answers(setup):
    alias, u, subject, row, other = setup
    for who in ("ivan", "cora", "stan", "audrey"):
        with pytest.raises(PermissionDenied, match="no can_raise_query"):
            raise_query(u[who], subject, "labs", row.pk, "value", "?")
    other_subject = Subject.objects.using(alias).get(subject_id="S2-1")
    with pytest.raises(PermissionDenied):  # the monitor's site is S1
        raise_query(u["mona"], other_subject, "labs", other.pk, "value", "?")
    q = raise_query(u["dana"], other_subject, "labs", other.pk, "value", "?")  # study-wide
    for who in ("mona", "dana", "stan", "ivan"):  # ivan and cora work at S1, q is at S2
        with pytest.raises(PermissionDenied):
            transition_query(u[who], q, "answer", "an answer")


@ALL_DATABASES
def test_refusals_write_nothing(setup):
    alias, u, subject, row, other = setup
    before = AuditEntry.objects.using(alias).count()
    with pytest.raises(QueryRefusedError, match="needs a text"):
        raise_query(u["mona"], subject, "labs", row.pk, "value", "  ")
    with pytest.raises(QueryRefusedError, match="has no field 'nope'"):
        raise_query(u["mona"], subject, "labs", row.pk, "nope", "?")
    with pytest.raises(QueryRefusedError, match="is not a record of subject S1-1"):
        raise_query(u["mona"], subject, "labs", other.pk, "value", "?")
    q = raise_query(u["mona"], subject, "labs", row.pk, "value", "?")
    with pytest.raises(QueryRefusedError, match="a text is required"):
        transition_query(u["cora"], q, "answer", "")
    with pytest.raises(QueryRefusedError, match="not allowed while the query is 'open'"):
        transition_query(u["mona"], q, "reopen", "why")
    with pytest.raises(QueryRefusedError, match="unknown query action"):
        transition_query(u["dana"], q, "delete", "x")
    assert AuditEntry.objects.using(alias).count() == before + 1  # the one raise


@ALL_DATABASES
def test_queries_cannot_be_written_or_deleted_behind_the_service(setup):
    alias, u, subject, row, _ = setup
    q = raise_query(u["mona"], subject, "labs", row.pk, "value", "?")
    q.dm_status = "closed"
    with pytest.raises(QueryWriteError):
        q.save()
    with pytest.raises(QueryWriteError):
        q.delete()
    with pytest.raises(QueryWriteError):
        DataQuery.objects.using(alias).filter(pk=q.pk).update(dm_status="closed")
    table = DataQuery.history.model._meta.db_table
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET dm_status = 'closed'")
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")


# --- the pages ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_web_workflow_and_visibility(client):
    load_small_study()
    u = make_users()
    row = lab("S1-1", "2014-03-01", "HGB", 95.0)
    client.force_login(u["mona"])
    url = f"/queries/raise/S1-1/labs/{row.pk}/"
    assert client.post(url, {"field": "value", "text": ""}).status_code == 200  # text required
    r = client.post(url, {"field": "value", "text": "Please confirm."})
    q = DataQuery.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/queries/{q.pk}/"
    detail = client.get(f"/queries/{q.pk}/").content.decode()
    assert 'id="query-action-reopen"' not in detail and 'id="query-action-answer"' not in detail

    client.force_login(u["cora"])
    assert client.post(f"/queries/{q.pk}/answer/", {"text": ""}).status_code == 200
    assert client.post(f"/queries/{q.pk}/answer/", {"text": "OK per source."}).status_code == 302
    assert client.post(f"/queries/{q.pk}/close/", {"text": "x"}).status_code == 403

    client.force_login(u["dana"])
    detail = client.get(f"/queries/{q.pk}/").content.decode()
    assert 'id="query-action-close"' in detail and 'id="query-action-reopen"' in detail
    assert client.post(f"/queries/{q.pk}/close/", {"text": "Resolved."}).status_code == 302
    page = client.get(f"/queries/{q.pk}/").content.decode()
    assert 'id="query-status-value">closed<' in page
    assert 'id="query-site-status">answered<' in page and 'id="query-dm-status">closed<' in page
    listing = client.get("/queries/?status=closed").content.decode()
    assert f'id="query-row-{q.pk}"' in listing
    assert f'id="query-row-{q.pk}"' not in client.get("/queries/?status=open").content.decode()

    # a site user of S2 sees neither the query nor the subject
    from saatrial.edc.accounts.services import create_user

    from .crf_helpers import CLI, PASSWORD

    s2 = create_user("sam", PASSWORD, "investigator", "S2", CLI)
    client.force_login(s2)
    assert client.get(f"/queries/{q.pk}/").status_code == 404
    assert f'id="query-row-{q.pk}"' not in client.get("/queries/").content.decode()


@pytest.mark.django_db
def test_soft_range_query_links_the_change_that_caused_it(client):
    load_small_study()
    u = make_users()
    client.force_login(u["ivan"])
    r = client.post(
        "/subjects/S1-2/labs/add/",
        {
            "lab_date": "2014-03-02",
            "test": "K",
            "value": "7.5",
            "unit": "mmol/L",
            "confirm_warnings": "on",
        },
    )
    assert r.status_code == 302
    q = DataQuery.objects.get()
    page = client.get(f"/queries/{q.pk}/").content.decode()
    assert 'id="query-cause"' in page and "labs S1-2|2014-03-02|K value:  -> 7.5" in page
    assert q.raised_at <= dt.datetime.now(dt.UTC)
