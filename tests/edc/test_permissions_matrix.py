"""Every view x every role x own/other site: allowed or refused, as written here by hand.

The expectation table below is written from issue 7 §3 (roles and sites):
investigator/coordinator enter and edit data of their own site (only the
investigator signs), the monitor reads its own sites, raises queries and marks
records source-verified (only the monitor), the
data manager reads all sites, raises and closes queries and locks, the
statistician reads all and exports/runs the analysis, the auditor reads all
including the audit trail, the administrator manages accounts and sees no
subject data; Django's superuser flag gives no clinical access either.

Codes: A = 200 (allowed; for a POST of an empty form, the form re-rendered
with its errors - nothing written), F = 403 (visible but not permitted),
N = 404 (not visible: subjects of other sites are not revealed), R = 302,
M = 405. Anonymous users are redirected to the login page everywhere.

``test_every_url_is_in_the_table`` walks the URL configuration: a new URL
fails it until its expectations are added here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from saatrial.edc.queries.service import raise_query
from saatrial.edc.trial.models import Subject

from .crf_helpers import lab, load_small_study, make_users

ROLES = ("ivan", "cora", "mona", "dana", "stan", "audrey", "adam", "root")
#        investigator@S1, coordinator@S1, monitor@S1, data manager, statistician,
#        auditor, administrator, Django superuser without a role
OWN, OTHER = "S1-1", "S2-1"
CODES = {"A": 200, "F": 403, "N": 404, "R": 302, "M": 405}
RUN = "20250101T000000000000Z"


@dataclass(frozen=True)
class Case:
    """One URL (with sample arguments) and who gets what."""

    name: str  # URL pattern name (namespace:name)
    url: str  # with {sid}, {lab}, {query} placeholders
    own: str  # codes for ROLES, subject of site S1 (or the only variant)
    other: str | None = None  # codes for ROLES, subject of site S2 (None: not site-bound)
    anonymous: str = "login"  # "login" = redirect to the login page, else a code


CASES: tuple[Case, ...] = (
    #                                                       ivan cora mona dana stan aud adam root
    Case("home", "/", "AAAAAAAA"),
    Case("login", "/accounts/login/", "RRRRRRRR", anonymous="A"),
    Case("logout", "/accounts/logout/", "MMMMMMMM", anonymous="M"),
    Case("crf:search", "/subjects/search/?q=1", "AAAAAAAA"),
    Case("crf:subject_add", "/subjects/new/", "AAFFFFFF"),
    Case("crf:subject", "/subjects/{sid}/", "AAAAAANN", "NNNAAANN"),
    Case("crf:subject_edit", "/subjects/{sid}/edit/", "AAFFFFNN", "NNNFFFNN"),
    Case("crf:subject_delete", "/subjects/{sid}/delete/", "AAFFFFNN", "NNNFFFNN"),
    Case("crf:screening", "/subjects/{sid}/screening/", "AAAAAANN", "NNNAAANN"),
    Case("crf:audit", "/subjects/{sid}/audit/", "FFFFFANN", "NNNFFANN"),
    Case("crf:subject_lock", "/subjects/{sid}/lock/", "FFFAFFNN", "NNNAFFNN"),
    Case("crf:row_add", "/subjects/{sid}/labs/add/", "AAFFFFNN", "NNNFFFNN"),
    Case("crf:row_edit", "/subjects/{sid}/labs/{lab}/edit/", "AAFFFFNN", "NNNFFFNN"),
    Case("crf:row_delete", "/subjects/{sid}/labs/{lab}/delete/", "AAFFFFNN", "NNNFFFNN"),
    Case("crf:study", "/study/", "AAAAAAFF"),
    Case("crf:study_lock", "/study/lock/", "FFFAFFFF"),
    Case("queries:list", "/queries/", "AAAAAAAA"),
    Case("queries:raise", "/queries/raise/{sid}/labs/{lab}/", "FFAAFFNN", "NNNAFFNN"),
    Case("queries:detail", "/queries/{query}/", "AAAAAANN", "NNNAAANN"),
    Case("queries:action", "/queries/{query}/answer/", "AAFFFFNN", "NNNFFFNN"),
    Case("queries:action", "/queries/{query}/reopen/", "FFAAFFNN", "NNNAFFNN"),
    Case("queries:action", "/queries/{query}/close/", "FFFAFFNN", "NNNAFFNN"),
    Case("signatures:sign", "/subjects/{sid}/sign/", "AFFFFFNN", "NNNFFFNN"),
    Case("sdv:verify", "/subjects/{sid}/labs/{lab}/verify/", "FFAFFFNN", "NNNFFFNN"),
    Case("exports:export", "/export/", "FFFFAFFF"),
    Case("exports:analysis", "/analysis/", "FFFFAFFF"),
    Case("exports:report", f"/analysis/{RUN}/", "FFFFAFFF"),
    Case("exports:report_file", f"/analysis/{RUN}/figures/f.svg", "FFFFAFFF"),
)

#: Namespaces whose views are posted to (an empty form) in the POST pass.
POSTED_NAMESPACES = ("crf:", "queries:", "signatures:", "sdv:", "exports:")


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace + (f"{p.namespace}:" if p.namespace else "")
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}", p


def all_patterns():
    return list(_walk(get_resolver().url_patterns))


def test_every_url_is_in_the_table():
    walked = {(route, name) for route, name, _ in all_patterns() if not route.startswith("admin/")}
    names = {name for _, name in walked}
    table = {c.name for c in CASES}
    assert names - table == set(), f"URLs without expectations: {sorted(names - table)}"
    assert table - names == set(), f"expectations for URLs that do not exist: {table - names}"
    # each case's sample URL resolves to the pattern it is written for
    from django.urls import resolve

    for case in CASES:
        url = case.url.format(sid=OWN, lab=1, query=1).split("?")[0]
        match = resolve(url)
        assert match.view_name == case.name, (case.url, match.view_name)


def _admin_url(route: str) -> str:
    """A sample path for an admin URL pattern (converters -> 1, regexes -> an example)."""
    route = route.replace("^(?P<app_label>auth|audit)/$", "audit/")
    route = route.replace("(?P<url>.*)$", "no-such-page/")
    return "/" + re.sub(r"<[^>]+>", "1", route)


@pytest.fixture
def world(django_user_model, settings, tmp_path):
    """The study, one user per role, a lab row and an open query per site, an analysis run."""
    settings.DATA_DIR = tmp_path
    run = tmp_path / "reports" / RUN
    (run / "figures").mkdir(parents=True)
    (run / "index.html").write_text("<html><body>report</body></html>")
    (run / "figures" / "f.svg").write_text("<svg/>")
    load_small_study()
    users = make_users()
    users["root"] = django_user_model.objects.create_superuser("root", password="x" * 14)
    ids = {}
    for sid in (OWN, OTHER):
        row = lab(sid, "2014-03-01", "HGB", 95.0)
        subject = Subject.objects.get(subject_id=sid)
        query = raise_query(users["dana"], subject, "labs", row.pk, "value", "Please check.")
        ids[sid] = {"sid": sid, "lab": row.pk, "query": query.pk}
    return users, ids


def _clients(users):
    clients = {}
    for name in ROLES:
        c = Client()
        c.force_login(users[name])
        clients[name] = c
    return clients


def _check(failures, who, method, url, response, expected):
    if expected == "login":
        ok = response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        want = "302 -> /accounts/login/"
    else:
        ok = response.status_code == CODES[expected]
        want = str(CODES[expected])
    if not ok:
        failures.append(f"{who:6} {method:4} {url}: got {response.status_code}, want {want}")


@pytest.mark.django_db
def test_every_view_every_role_own_and_other_site(world):
    users, ids = world
    clients = _clients(users)
    anonymous = Client()
    failures: list[str] = []
    requests = 0
    posted = {
        name
        for _, name, p in all_patterns()
        if hasattr(p.callback, "view_class")
        and hasattr(p.callback.view_class, "post")
        and name.startswith(POSTED_NAMESPACES)
    }
    for case in CASES:
        variants = [(OWN, case.own)] + ([(OTHER, case.other)] if case.other else [])
        for sid, codes in variants:
            url = case.url.format(**ids[sid])
            methods = ["GET"] + (["POST"] if case.name in posted else [])
            for method in methods:
                for role, code in zip(ROLES, codes, strict=True):
                    client = clients[role]
                    r = client.get(url) if method == "GET" else client.post(url, {})
                    _check(failures, role, method, url, r, code)
                    requests += 1
                r = anonymous.get(url) if method == "GET" else anonymous.post(url, {})
                _check(failures, "anon", method, url, r, case.anonymous)
                requests += 1
    assert not failures, f"{len(failures)} of {requests} requests:\n" + "\n".join(failures)
    assert requests > 600

    # nothing was written by the empty POSTs: the queries are still open, nothing locked/signed
    from saatrial.edc.queries.models import DataQuery
    from saatrial.edc.sdv.models import SourceVerification
    from saatrial.edc.signatures.models import Signature
    from saatrial.edc.trial.models import Study

    assert set(DataQuery.objects.values_list("dm_status", "site_status")) == {
        ("open", "awaiting_response")
    }
    assert not Subject.objects.filter(locked=True).exists() and not Study.objects.get().locked
    assert not Signature.objects.exists()
    assert not SourceVerification.objects.exists()


@pytest.mark.django_db
def test_admin_pages_are_for_staff_only(world):
    """Every Django admin URL: anonymous users and every clinical role go to the admin login."""
    users, _ = world
    clients = {"anon": Client(), **{r: c for r, c in _clients(users).items() if r != "root"}}
    failures = []
    for route, name, _ in all_patterns():
        if not route.startswith("admin/"):
            continue
        url = _admin_url(route)
        for who, client in clients.items():
            r = client.get(url)
            if name == "admin:login":
                ok = r.status_code == 200
            elif name == "admin:logout":  # GET does not log out; it sends to the admin index
                ok = r.status_code == 302 and r["Location"] == "/admin/"
            else:
                ok = r.status_code == 302 and r["Location"].startswith("/admin/login/")
            if not ok:
                failures.append(f"{who} GET {url} ({name}): {r.status_code} {r.get('Location')}")
    assert not failures, "\n".join(failures)
    # the superuser reaches the admin (read-only audit trail), but no subject (above: N)
    root = _clients(users)["root"]
    assert root.get("/admin/audit/auditentry/").status_code == 200


def test_the_table_covers_every_role_of_the_role_table():
    from saatrial.edc.accounts.roles import load_roles

    roles_of_users = {
        "investigator",
        "coordinator",
        "monitor",
        "data_manager",
        "statistician",
        "auditor",
        "administrator",
    }
    assert {r.name for r in load_roles()} == roles_of_users
    assert get_user_model().USERNAME_FIELD == "username"
