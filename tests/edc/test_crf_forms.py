"""The case report forms: generated per dictionary table, hard/soft ranges, reasons, audit rows.

Ranges are taken from the criteria text (dictionary.yaml): subjects.weight_kg
hard [1, 200] soft [3, 120]; lab HGB hard [10, 250] soft [30, 200] g/L.
Protocol nct02218437: rATG 3 mg/kg/day, CsA 2.5 mg/kg every 12 h; tolerance 10 %.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
import yaml

from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.crf.forms import CONFIRM_FIELD, crf_form_class
from saatrial.edc.queries.models import DataQuery
from saatrial.edc.trial.models import Exposure, Lab, Subject

from .crf_helpers import form_data, lab, load_small_study, make_users

pytestmark = pytest.mark.django_db

RAW_DICTIONARY = yaml.safe_load(
    resources.files("saatrial").joinpath("dictionary.yaml").read_text("utf-8")
)
CHILD_TABLES = [
    t
    for t in RAW_DICTIONARY["tables"]
    if t not in ("study", "sites", "arms", "dose_levels", "provenance", "subjects")
]


@pytest.fixture
def users():
    load_small_study()
    return make_users()


@pytest.fixture
def ivan(client, users):
    client.force_login(users["ivan"])
    return users["ivan"]


def post_form(client, url, changes, drop=()):
    """GET ``url``, take its form's values, apply ``changes``, POST."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = form_data(page.context["form"])
    for name in drop:
        data.pop(name, None)
    data.update({k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
    return client.post(url, data)


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("seq"))


# --- generated forms ------------------------------------------------------------------------
@pytest.mark.parametrize("table", list(RAW_DICTIONARY["tables"]))
def test_every_table_has_a_form_with_its_dictionary_fields(table):
    form = crf_form_class(table)()
    expected = [
        {"site_id": "site", "arm_id": "arm"}.get(f, f) if table == "subjects" else f
        for f in RAW_DICTIONARY["tables"][table]["fields"]
    ]
    if table == "dose_levels":
        expected = ["arm" if f == "arm_id" else f for f in expected]
    if table in CHILD_TABLES:
        expected.remove("subject_id")  # the page's subject
    assert list(form.fields) == [*expected, CONFIRM_FIELD]
    spec = RAW_DICTIONARY["tables"][table]["fields"]
    for name, f in spec.items():
        formname = {"site_id": "site", "arm_id": "arm"}.get(name, name)
        if formname in form.fields and f.get("type") == "code" and "codes" in f:
            choices = [c for c, _ in form.fields[formname].choices if c != ""]
            assert choices == [str(c) for c in f["codes"]], (table, name)


@pytest.mark.parametrize("table", CHILD_TABLES)
def test_add_page_of_every_subject_table_renders(client, ivan, table):
    page = client.get(f"/subjects/S1-1/{table}/add/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="crf-form"' in html and 'id="crf-submit"' in html
    for name in RAW_DICTIONARY["tables"][table]["fields"]:
        if name != "subject_id":
            assert f'id="id_{name}"' in html, name


def test_unknown_or_study_level_table_is_404(client, ivan):
    assert client.get("/subjects/S1-1/sites/add/").status_code == 404
    assert client.get("/subjects/S1-1/nothing/add/").status_code == 404


# --- hard and soft ranges -------------------------------------------------------------------
def test_hard_range_is_refused_and_nothing_is_written(client, ivan):
    before = AuditEntry.objects.count()
    r = post_form(client, "/subjects/S1-1/edit/", {"weight_kg": "200.5", "reason": "re-weighed"})
    assert r.status_code == 200
    assert "Ensure this value is less than or equal to 200.0" in r.content.decode()
    r = post_form(
        client,
        "/subjects/S1-1/labs/add/",
        {"lab_date": "2014-03-01", "test": "HGB", "value": "251", "unit": "g/L"},
    )
    assert r.status_code == 200
    assert "hard_range [10, 250] for HGB (g/L): 251" in r.content.decode()
    assert Subject.objects.get(subject_id="S1-1").weight_kg == 25.0
    assert not Lab.objects.exists() and AuditEntry.objects.count() == before


def test_soft_range_warns_then_saves_with_confirmation_and_opens_a_linked_query(client, ivan):
    url = "/subjects/S1-1/labs/add/"
    values = {"lab_date": "2014-03-01", "test": "HGB", "value": "201", "unit": "g/L"}
    r = post_form(client, url, values)
    html = r.content.decode()
    assert r.status_code == 200 and 'id="plausibility-warnings"' in html
    assert "value: soft_range [30, 200] for HGB (g/L): 201" in html
    assert f'name="{CONFIRM_FIELD}"' in html
    assert not Lab.objects.exists()

    r = post_form(client, url, {**values, CONFIRM_FIELD: "on"})
    assert r.status_code == 302 and r["Location"] == "/subjects/S1-1/#section-labs"
    row = Lab.objects.get(subject_id="S1-1", test="HGB")
    assert row.value == 201.0
    (query,) = DataQuery.objects.all()
    assert (query.table_name, query.record_pk, query.field_name) == ("labs", str(row.pk), "value")
    assert (query.origin, query.status, query.raised_by_username) == ("soft_range", "open", "ivan")
    cause = query.audit_entry
    assert (cause.action, cause.table_name, cause.field_name) == ("create", "labs", "value")
    assert (cause.record_pk, cause.new_value, cause.username) == (str(row.pk), "201.0", "ivan")
    raised = entries(action="query_raised")
    assert len(raised) == 1 and f'"caused_by_audit_seq": {cause.seq}' in raised[0].detail
    # the subject page shows the open query on the row
    page = client.get("/subjects/S1-1/").content.decode()
    assert f'id="open-queries-labs-{row.pk}"' in page


def test_value_inside_the_soft_range_needs_no_confirmation(client, ivan):
    r = post_form(
        client,
        "/subjects/S1-1/labs/add/",
        {"lab_date": "2014-03-01", "test": "HGB", "value": "200", "unit": ""},
    )
    assert r.status_code == 302
    row = Lab.objects.get()
    assert row.unit == "g/L"  # empty unit -> the test's unit
    assert not DataQuery.objects.exists()


def test_reason_is_required_on_edit_and_audit_rows_keep_old_new_reason(client, ivan):
    row = lab("S1-1", "2014-03-01", "HGB", 95.0)
    url = f"/subjects/S1-1/labs/{row.pk}/edit/"
    r = post_form(client, url, {"value": "98"}, drop=["reason"])
    assert r.status_code == 200 and "This field is required." in r.content.decode()
    assert Lab.objects.get(pk=row.pk).value == 95.0

    r = post_form(client, url, {"value": "98", "reason": "transcription error"})
    assert r.status_code == 302
    assert Lab.objects.get(pk=row.pk).value == 98.0
    (update,) = entries(action="update", table_name="labs")
    assert (update.field_name, update.old_value, update.new_value) == ("value", "95.0", "98.0")
    assert (update.reason, update.username, update.record_key) == (
        "transcription error",
        "ivan",
        "S1-1|2014-03-01|HGB",
    )
    history = list(Lab.history.filter(id=row.pk).order_by("history_id"))
    assert [h.value for h in history] == [95.0, 98.0]
    assert history[-1].history_change_reason == "transcription error"


def test_a_confirmed_value_is_not_flagged_again_when_another_field_changes(client, ivan):
    row = lab("S1-1", "2014-03-01", "HGB", 210.0)  # loaded outside the form
    url = f"/subjects/S1-1/labs/{row.pk}/edit/"
    r = post_form(client, url, {"pre_transfusion": "true", "reason": "flag from the source"})
    assert r.status_code == 302
    assert Lab.objects.get(pk=row.pk).pre_transfusion is True
    r = post_form(client, url, {"value": "211", "reason": "corrected"})
    assert r.status_code == 200 and "soft_range [30, 200]" in r.content.decode()


def test_delete_needs_a_reason_and_is_audited(client, ivan):
    row = lab("S1-1", "2014-03-01", "ANC", 0.4)
    url = f"/subjects/S1-1/labs/{row.pk}/delete/"
    assert client.post(url, {"reason": "  "}).status_code == 200
    assert Lab.objects.filter(pk=row.pk).exists()
    r = client.post(url, {"reason": "entered for the wrong subject"})
    assert r.status_code == 302 and not Lab.objects.filter(pk=row.pk).exists()
    deleted = entries(action="delete", table_name="labs")
    assert {e.field_name: e.old_value for e in deleted}["value"] == "0.4"
    assert {e.reason for e in deleted} == {"entered for the wrong subject"}


def test_row_of_another_subject_is_404(client, ivan):
    row = lab("S1-2", "2014-03-01", "ANC", 0.4)
    assert client.get(f"/subjects/S1-1/labs/{row.pk}/edit/").status_code == 404
    assert client.get(f"/subjects/S1-2/labs/{row.pk}/edit/").status_code == 200


# --- exposures: protocol dose ---------------------------------------------------------------
def test_exposure_form_prefills_the_protocol_dose_from_the_weight(client, ivan):
    page = client.get("/subjects/S1-1/exposures/add/")
    form = page.context["form"]
    # first drug of the CONTROL regimen, subject weight 25 kg: rATG 3 mg/kg x 25 kg = 75 mg
    assert (form["drug"].value(), form["dose"].value()) == ("RATG", pytest.approx(75.0))
    assert (form["dose_unit"].value(), form["frequency"].value()) == ("mg", "QD")
    assert form["weight_kg"].value() == 25.0
    assert "RATG: 75 mg per administration (3 mg/kg x 25 kg)" in page.content.decode()
    page = client.get("/subjects/S1-1/exposures/add/?drug=CSA&weight_kg=20")
    form = page.context["form"]
    assert (form["dose"].value(), form["frequency"].value()) == (pytest.approx(50.0), "Q12H")
    bad = client.get("/subjects/S1-1/exposures/add/?drug=UCMSC").content.decode()
    assert "UCMSC is not given in arm CONTROL" in bad


def test_exposure_dose_more_than_10_percent_off_needs_confirmation(client, ivan):
    url = "/subjects/S1-1/exposures/add/"
    common = {"start_date": "2014-03-01", "end_date": "2014-03-05"}
    r = post_form(client, url, {**common, "dose": "82.5"})  # +10 % of 75: accepted as is
    assert r.status_code == 302
    r = post_form(
        client,
        url,
        {**common, "start_date": "2014-03-06", "end_date": "2014-03-06", "dose": "82.6"},
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert "dose: dose_tolerance (expected 75 mg ± 10 % for 25 kg; 10.1 % above): 82.6" in html
    r = post_form(
        client,
        url,
        {
            **common,
            "start_date": "2014-03-06",
            "end_date": "2014-03-06",
            "dose": "82.6",
            CONFIRM_FIELD: "on",
        },
    )
    assert r.status_code == 302
    assert Exposure.objects.count() == 2
    (query,) = DataQuery.objects.all()
    assert (query.origin, query.field_name) == ("dose", "dose")
    assert query.audit_entry.new_value == "82.6"  # float repr (audit value_text)


# --- subjects -------------------------------------------------------------------------------
def test_subject_created_only_at_own_site_and_soft_weight_opens_a_query(client, users):
    client.force_login(users["cora"])
    url = "/subjects/new/"
    form = client.get(url).context["form"]
    assert [c for c, _ in form.fields["site"].choices if c] == ["S1"]
    values = {
        "subject_id": "S1-9",
        "site": "S1",
        "arm": "CONTROL",
        "dose_level_id": "NONE",
        "sex": "M",
        "birth_date": "2010-01-01",
        "diagnosis_date": "2014-01-01",
        "weight_kg": "2.5",
        "consent_date": "2014-01-10",
        "enrolment_date": "2014-01-12",
    }
    r = client.post(url, {**values, "site": "S2"})
    assert r.status_code == 200 and "Select a valid choice" in r.content.decode()
    r = client.post(url, values)
    assert r.status_code == 200 and "weight_kg: soft_range [3, 120]: 2.5" in r.content.decode()
    r = client.post(url, {**values, CONFIRM_FIELD: "on"})
    assert r.status_code == 302 and r["Location"] == "/subjects/S1-9/"
    subject = Subject.objects.get(subject_id="S1-9")
    query = DataQuery.objects.get()
    assert (query.table_name, query.record_pk, query.field_name) == (
        "subjects",
        str(subject.pk),
        "weight_kg",
    )


def test_subject_id_and_site_cannot_change_on_edit(client, ivan):
    r = post_form(
        client,
        "/subjects/S1-1/edit/",
        {"subject_id": "X", "site": "S2", "height_cm": "120", "reason": "measured"},
    )
    assert r.status_code == 302
    subject = Subject.objects.get(pk=Subject.objects.get(subject_id="S1-1").pk)
    assert (subject.site_id, subject.height_cm) == ("S1", 120.0)


def test_locked_subject_refuses_changes_on_the_form(client, users):
    client.force_login(users["dana"])
    assert client.post("/subjects/S1-1/lock/", {"reason": "database lock"}).status_code == 302
    assert Subject.objects.get(subject_id="S1-1").locked
    client.force_login(users["ivan"])
    page = client.get("/subjects/S1-1/").content.decode()
    assert 'id="add-labs"' not in page and "<strong>locked</strong>" in page
    r = post_form(client, "/subjects/S1-1/edit/", {"height_cm": "120", "reason": "measured"})
    assert r.status_code == 200
    assert "subject S1-1 is locked; unlock it (data manager)" in r.content.decode()
    r = post_form(
        client, "/subjects/S1-1/labs/add/", {"lab_date": "2014-03-01", "test": "ANC", "value": "1"}
    )
    assert "subject S1-1 is locked" in r.content.decode() and not Lab.objects.exists()
    client.force_login(users["dana"])
    assert client.post("/subjects/S1-1/lock/", {"reason": "query resolved"}).status_code == 302
    update = entries(table_name="subjects", field_name="locked", record_key="S1-1", action="update")
    assert [(e.old_value, e.new_value, e.reason) for e in update] == [
        ("false", "true", "database lock"),
        ("true", "false", "query resolved"),
    ]


def test_study_lock_refuses_every_change(client, users):
    client.force_login(users["dana"])
    assert client.post("/study/lock/", {"reason": "final lock"}).status_code == 302
    client.force_login(users["ivan"])
    r = post_form(client, "/subjects/S1-2/edit/", {"height_cm": "120", "reason": "measured"})
    assert "study t1 is locked" in r.content.decode()


def test_calendar_on_the_subject_page(client, ivan):
    from saatrial.edc.audit.service import audited_save

    row = Exposure(
        subject=Subject.objects.get(subject_id="S1-1"),
        drug="RATG",
        start_date=dt.date(2014, 3, 1),
        end_date=dt.date(2014, 3, 5),
        dose=75.0,
        dose_unit="mg",
        frequency="QD",
        weight_kg=25.0,
    )
    audited_save(row, ivan)
    lab("S1-1", "2014-04-16", "ANC", 1.0)  # last day of the D40 window (2014-04-02..16)
    page = client.get("/subjects/S1-1/").content.decode()
    assert 'id="hdr-day1">2014-03-01<' in page
    assert 'id="visit-D40" class="visit-done"' in page
    assert "done: sample on 2014-04-16" in page
    assert 'id="visit-D90" class="visit-missing"' in page  # window closed 2014-06-12
