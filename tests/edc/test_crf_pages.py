"""Read-only pages: search, study tables, audit trail; CSRF on the forms."""

from __future__ import annotations

import pytest
from django.test import Client

from .crf_helpers import PASSWORD, lab, load_small_study, make_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    load_small_study()
    return make_users()


def test_search_shows_only_visible_subjects(client, users):
    client.force_login(users["mona"])  # monitor at S1
    page = client.get("/subjects/search/?q=-1").content.decode()
    assert 'id="result-S1-1"' in page and 'id="result-S2-1"' not in page
    assert 'id="search-count">1 subject(s) matching "-1"' in page
    client.force_login(users["audrey"])  # auditor: all sites
    page = client.get("/subjects/search/?q=-1").content.decode()
    assert 'id="result-S1-1"' in page and 'id="result-S2-1"' in page
    client.force_login(users["adam"])  # administrator: no subject data
    assert 'id="search-count">0 subject(s)' in client.get("/subjects/search/").content.decode()


def test_study_page_shows_setup_tables_and_only_visible_sites(client, users):
    client.force_login(users["cora"])
    page = client.get("/study/").content.decode()
    assert 'id="study-table-arms"' in page and "<td>CONTROL</td>" in page
    assert "<td>Site S1</td>" in page and "<td>Site S2</td>" not in page
    assert 'id="study-lock-link"' not in page
    client.force_login(users["dana"])
    assert 'id="study-lock-link"' in client.get("/study/").content.decode()


def test_audit_trail_page_lists_who_when_old_new_why(client, users):
    row = lab("S1-1", "2014-03-01", "HGB", 95.0)
    client.force_login(users["ivan"])
    client.post(
        f"/subjects/S1-1/labs/{row.pk}/edit/",
        {"lab_date": "2014-03-01", "test": "HGB", "value": "96", "unit": "g/L", "reason": "typo"},
    )
    client.force_login(users["audrey"])
    page = client.get("/subjects/S1-1/audit/").content.decode()
    assert "<td>ivan</td><td>update</td>" in page
    assert "<td>95.0</td>\n    <td>96.0</td><td>typo</td>" in page


def test_forms_refuse_a_post_without_csrf_token(users):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="ivan", password=PASSWORD)
    r = strict.post("/subjects/S1-1/labs/add/", {"lab_date": "2014-03-01", "test": "ANC"})
    assert r.status_code == 403
    page = strict.get("/subjects/S1-1/labs/add/")
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_home_links_to_the_subject_pages(client, users):
    client.force_login(users["ivan"])
    page = client.get("/").content.decode()
    assert 'id="subject-link-S1-1" href="/subjects/S1-1/"' in page
    assert 'id="nav-queries"' in page and 'id="search-form"' in page
