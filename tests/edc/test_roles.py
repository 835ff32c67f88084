"""Roles as data, site memberships, visible_subjects and permission checks.

The expected permissions are transcribed from issue 7 §3 ("investigator/
coordinator (enter and edit own site), monitor (read own sites, raise queries,
mark source-verified), data manager (close queries, lock), statistician (read
all, export), auditor (read-only, including the audit trail), administrator")
and §6 (the investigator signs), not read from roles.yaml.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from saatrial.edc.accounts.access import check_permission, require_permission, visible_subjects
from saatrial.edc.accounts.models import SiteMembership
from saatrial.edc.accounts.roles import PERMISSIONS, RoleTableError, load_roles, parse_roles
from saatrial.edc.accounts.services import AccountError, create_user, grant_role, revoke_role
from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import AuditEntry
from saatrial.edc.load import load_study

from .conftest import ALL_DATABASES

EXPECTED = {
    "investigator": {"can_read_own_site", "can_enter", "can_edit_own_site", "can_sign"},
    "coordinator": {"can_read_own_site", "can_enter", "can_edit_own_site"},
    "monitor": {"can_read_own_site", "can_raise_query", "can_verify_source"},
    "data_manager": {"can_read_all_sites", "can_raise_query", "can_close_query", "can_lock"},
    "statistician": {"can_read_all_sites", "can_export"},
    "auditor": {"can_read_all_sites", "can_read_audit"},
    "administrator": {"can_admin_users", "can_read_audit"},
}
SITE_SCOPED = {"investigator", "coordinator", "monitor"}
ADMIN = Actor(None, "cli:admin")


def test_role_table_is_versioned_and_sourced():
    roles = load_roles()
    assert roles.version == "1.0.0"
    assert "issue 7" in roles.source and "ICH E6(R3)" in roles.source
    assert tuple(roles.permission_meanings) == PERMISSIONS


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_grants_exactly_what_the_issue_says(role):
    table = load_roles()
    assert table[role].permissions == EXPECTED[role]
    assert table[role].site_scoped is (role in SITE_SCOPED)
    for permission in PERMISSIONS:
        assert table[role].grants(permission) is (permission in EXPECTED[role])


def test_no_more_roles_than_the_issue_names():
    assert {r.name for r in load_roles()} == set(EXPECTED)


def test_only_the_data_manager_closes_queries_and_only_the_investigator_signs():
    roles = load_roles()
    assert [r.name for r in roles if r.grants("can_close_query")] == ["data_manager"]
    assert [r.name for r in roles if r.grants("can_sign")] == ["investigator"]
    read_only = ("monitor", "statistician", "auditor", "administrator", "data_manager")
    for name in read_only:
        assert not roles[name].grants("can_enter") and not roles[name].grants("can_edit_own_site")


def test_role_table_errors_are_reported():
    good = {
        "version": "1",
        "source": "s",
        "permissions": dict.fromkeys(PERMISSIONS, "m"),
        "roles": {"r": {"site_scoped": True, "grants": ["can_enter"]}},
    }
    assert parse_roles(good)["r"].grants("can_enter")
    with pytest.raises(RoleTableError, match="unknown permission"):
        parse_roles({**good, "roles": {"r": {"site_scoped": True, "grants": ["can_fly"]}}})
    with pytest.raises(RoleTableError, match="site_scoped is missing"):
        parse_roles({**good, "roles": {"r": {"grants": []}}})
    with pytest.raises(RoleTableError, match="'version' is missing"):
        parse_roles({**good, "version": ""})
    with pytest.raises(ValueError, match="unknown permission"):
        load_roles()["monitor"].grants("can_fly")


# --- visibility and permissions on the database -----------------------------------------------
@pytest.fixture
def loaded(alias, small_study):
    load_study(small_study, Actor(None, "cli:test"), using=alias)
    return alias


def ids(qs) -> list[str]:
    return sorted(qs.values_list("subject_id", flat=True))


S1 = ["S1-1", "S1-2"]
S2 = ["S2-1", "S2-2"]


@ALL_DATABASES
@pytest.mark.parametrize(
    ("role", "site", "expected"),
    [
        ("investigator", "S1", S1),
        ("coordinator", "S1", S1),
        ("coordinator", "S2", S2),
        ("monitor", "S2", S2),
        ("data_manager", None, S1 + S2),
        ("statistician", None, S1 + S2),
        ("auditor", None, S1 + S2),
        ("administrator", None, []),
    ],
)
def test_visible_subjects_per_role_and_site(loaded, make_user, role, site, expected):
    user = make_user(f"u_{role}_{site}", role=role, site=site)
    assert ids(visible_subjects(user)) == expected


@ALL_DATABASES
def test_memberships_at_two_sites_add_up(loaded, make_user):
    monitor = make_user("mona", role="monitor", site="S1")
    SiteMembership(user=monitor, site_id="S2", role="monitor").save(using=loaded)
    assert ids(visible_subjects(monitor)) == S1 + S2


@ALL_DATABASES
def test_no_role_inactive_anonymous_and_superuser_see_nothing(loaded, make_user):
    assert ids(visible_subjects(make_user("nobody"))) == []
    inactive = make_user("gone", role="coordinator", site="S1")
    inactive.is_active = False
    inactive.save(using=loaded)
    assert ids(visible_subjects(inactive)) == []
    assert ids(visible_subjects(AnonymousUser(), using=loaded)) == []
    root = make_user("root")
    root.is_superuser = root.is_staff = True
    root.save(using=loaded)
    assert ids(visible_subjects(root)) == []  # clinical access comes from roles only


@ALL_DATABASES
def test_check_permission_by_site(loaded, make_user):
    cora = make_user("cora", role="coordinator", site="S1")
    dm = make_user("dana", role="data_manager")
    stan = make_user("stan", role="statistician")
    assert check_permission(cora, "can_enter", "S1").allowed
    refused = check_permission(cora, "can_enter", "S2")
    assert not refused.allowed and refused.roles == ()
    assert refused.reason == "cora holds no role at site S2: no can_enter"
    assert check_permission(dm, "can_lock", "S2").allowed  # study-wide
    assert check_permission(stan, "can_export").allowed
    assert not check_permission(cora, "can_export").allowed
    assert not check_permission(stan, "can_enter", "S1").allowed
    with pytest.raises(PermissionDenied, match="coordinator at site S1: no can_lock"):
        require_permission(cora, "can_lock", "S1")
    with pytest.raises(ValueError, match="unknown permission"):
        check_permission(cora, "can_fly")


@ALL_DATABASES
def test_memberships_must_fit_the_role_scope(loaded, make_user):
    user = make_user("ivy")
    with pytest.raises(AccountError, match="site-scoped: give --site"):
        grant_role(user, "investigator", None, ADMIN, "new investigator", using=loaded)
    with pytest.raises(AccountError, match="study-wide: give no --site"):
        grant_role(user, "statistician", "S1", ADMIN, "new statistician", using=loaded)
    with pytest.raises(AccountError, match=r"no site 'S9' in the database \(sites: S1, S2\)"):
        grant_role(user, "investigator", "S9", ADMIN, "typo", using=loaded)
    with pytest.raises(AccountError, match="unknown role"):
        grant_role(user, "sponsor", None, ADMIN, "?", using=loaded)
    assert not SiteMembership.objects.using(loaded).filter(user=user).exists()


@ALL_DATABASES
def test_role_grants_and_revocations_are_audited(loaded, make_user):
    user = make_user("ivy")
    membership = grant_role(user, "investigator", "S1", ADMIN, "joins site S1", using=loaded)
    revoke_role(membership, ADMIN, "left the hospital", using=loaded)
    rows = AuditEntry.objects.using(loaded).filter(
        table_name="site_membership", record_key="ivy|S1|investigator"
    )
    got = {(e.action, e.field_name, e.old_value, e.new_value, e.username, e.reason) for e in rows}
    assert ("create", "role", None, "investigator", "cli:admin", "joins site S1") in got
    assert ("create", "site_id", None, "S1", "cli:admin", "joins site S1") in got
    assert ("delete", "role", "investigator", None, "cli:admin", "left the hospital") in got
    assert ids(visible_subjects(user)) == []


@ALL_DATABASES
def test_create_user_is_audited_without_the_password_hash(loaded):
    user = create_user("nina", "a long enough pass phrase", "monitor", "S2", ADMIN, using=loaded)
    assert ids(visible_subjects(user)) == S2
    rows = {
        e.field_name: e
        for e in AuditEntry.objects.using(loaded).filter(table_name="auth_user", action="create")
    }
    assert rows["username"].new_value == "nina"
    assert rows["password"].new_value == "<hidden>"
    assert rows["username"].username == "cli:admin"
    assert not AuditEntry.objects.using(loaded).filter(new_value__startswith="md5$").exists()
    user.set_password("another long pass phrase")
    user.save(using=loaded)
    change = AuditEntry.objects.using(loaded).get(table_name="auth_user", action="update")
    assert (change.field_name, change.old_value, change.new_value) == (
        "password",
        "<hidden>",
        "<hidden>",
    )


@ALL_DATABASES
def test_create_user_refusals(loaded):
    with pytest.raises(AccountError, match="password refused"):
        create_user("weak", "12345", "monitor", "S1", ADMIN, using=loaded)
    create_user("nina", "a long enough pass phrase", "monitor", "S2", ADMIN, using=loaded)
    with pytest.raises(AccountError, match="exists already"):
        create_user("nina", "a long enough pass phrase", "monitor", "S2", ADMIN, using=loaded)
    with pytest.raises(AccountError, match="site-scoped"):
        create_user("otto", "a long enough pass phrase", "monitor", None, ADMIN, using=loaded)
