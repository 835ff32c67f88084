"""The core pages: login required, visible subjects only, logout by POST, CSRF, sessions."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from saatrial.edc.audit.context import Actor
from saatrial.edc.load import load_study

from .studies import minimal_study_rows

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def study():
    from saatrial.study import StudyData

    load_study(StudyData.from_records(minimal_study_rows(("S1", "S2"), 2)), Actor(None, "cli:t"))


@pytest.fixture
def cora(study):
    from saatrial.edc.accounts.services import create_user

    return create_user("cora", PASSWORD, "coordinator", "S1", Actor(None, "cli:t"))


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"


def test_home_lists_only_visible_subjects(client, cora):
    client.force_login(cora)
    page = client.get("/").content.decode()
    assert "S1-1" in page and "S1-2" in page
    assert "S2-1" not in page and "S2-2" not in page
    assert "Study coordinator (S1)" in page
    assert "Subjects (2)" in page


def test_logout_needs_post_and_ends_the_session(client, cora):
    client.force_login(cora)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_login_post_without_csrf_token_is_refused(cora):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "cora", "password": PASSWORD})
    assert response.status_code == 403
    page = strict.get("/accounts/login/")
    token = page.cookies["csrftoken"].value
    ok = strict.post(
        "/accounts/login/",
        {"username": "cora", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert ok.status_code == 302


def test_session_and_cookie_settings():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert settings.USE_TZ and settings.TIME_ZONE == "UTC"
    assert len(settings.AUTH_PASSWORD_VALIDATORS) == 4


def test_session_cookie_has_no_fixed_expiry(client, cora):
    response = client.post("/accounts/login/", {"username": "cora", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["expires"] == ""  # ends with the browser
    assert client.session.get_expiry_age() == 30 * 60


def test_changes_during_a_request_are_attributed_to_its_user(cora, rf):
    from django.contrib.auth.models import AnonymousUser

    from saatrial.edc.audit.context import current_actor
    from saatrial.edc.audit.middleware import AuditActorMiddleware

    middleware = AuditActorMiddleware(lambda request: current_actor())
    request = rf.get("/")
    request.user = cora
    assert middleware(request) == Actor(cora.pk, "cora")
    request.user = AnonymousUser()
    assert middleware(request) == Actor(None, "system")
    assert current_actor() == Actor(None, "system")  # reset after the request
