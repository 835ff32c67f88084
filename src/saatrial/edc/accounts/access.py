"""Who may see and do what: :func:`visible_subjects` and permission checks.

Every page, export and search that shows subject data MUST select subjects
through :func:`visible_subjects` (and rows of other tables through
``subject__in=visible_subjects(user)``); every action MUST be checked with
:func:`check_permission` / :func:`require_permission` for the site concerned.
Access comes only from site memberships and the role table
(:mod:`saatrial.edc.accounts.roles`): Django's ``is_superuser``/``is_staff``
flags give no access to clinical data.

A membership *applies* to site S when it names S or is study-wide (no site).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from saatrial.edc.accounts.models import SiteMembership
from saatrial.edc.accounts.roles import PERMISSIONS, load_roles
from saatrial.edc.trial.models import Site, Subject

__all__ = [
    "Grant",
    "PermissionDecision",
    "check_permission",
    "grants_of",
    "require_permission",
    "visible_sites",
    "visible_subjects",
]


@dataclass(frozen=True)
class Grant:
    """One membership as the access rules see it: role and site (None = every site)."""

    role: str
    site_id: str | None

    def applies_to(self, site_id: str | None) -> bool:
        """True if the membership covers ``site_id`` (None = "some site")."""
        return self.site_id is None or site_id is None or self.site_id == site_id


@dataclass(frozen=True)
class PermissionDecision:
    """The outcome of a permission check.

    Attributes
    ----------
    allowed : bool
    permission : str
    site_id : str or None
        Site the check was for (None = any site).
    roles : tuple of str
        The user's roles that apply to the site.
    reason : str
        Why allowed or refused, in words.
    """

    allowed: bool
    permission: str
    site_id: str | None
    roles: tuple[str, ...]
    reason: str


def _alias(user: Any, using: str | None) -> str:
    return using or getattr(getattr(user, "_state", None), "db", None) or "default"


def grants_of(user: Any, using: str | None = None) -> tuple[Grant, ...]:
    """The memberships of an active, authenticated user (empty otherwise)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    rows = SiteMembership.objects.using(_alias(user, using)).filter(user_id=user.pk)
    return tuple(Grant(role, site) for role, site in rows.values_list("role", "site_id"))


def _readable_sites(grants: tuple[Grant, ...]) -> tuple[bool, set[str]]:
    roles = load_roles()
    all_sites = False
    sites: set[str] = set()
    for g in grants:
        role = roles.roles.get(g.role)
        if role is None:
            continue
        if role.grants("can_read_all_sites"):
            all_sites = True
        elif role.grants("can_read_own_site") and g.site_id is not None:
            sites.add(g.site_id)
    return all_sites, sites


def visible_subjects(user: Any, using: str | None = None) -> QuerySet[Subject]:
    """The subjects ``user`` may see: its sites' subjects, or all for all-sites roles.

    Parameters
    ----------
    user : User
        The requesting user; anonymous or inactive users see nothing.
    using : str, optional
        Database alias (default: the user's).

    Returns
    -------
    QuerySet of Subject
    """
    qs = Subject.objects.using(_alias(user, using))
    all_sites, sites = _readable_sites(grants_of(user, using))
    if all_sites:
        return qs.all()
    return qs.filter(site_id__in=sorted(sites))


def visible_sites(user: Any, using: str | None = None) -> QuerySet[Site]:
    """The sites whose subjects ``user`` may see (as :func:`visible_subjects`)."""
    qs = Site.objects.using(_alias(user, using))
    all_sites, sites = _readable_sites(grants_of(user, using))
    if all_sites:
        return qs.all()
    return qs.filter(site_id__in=sorted(sites))


def check_permission(
    user: Any, permission: str, site_id: str | None = None, using: str | None = None
) -> PermissionDecision:
    """May ``user`` use ``permission`` at ``site_id``?

    Parameters
    ----------
    user : User
    permission : str
        One of :data:`~saatrial.edc.accounts.roles.PERMISSIONS`.
    site_id : str, optional
        The site of the subject/record concerned; None asks "at any site"
        (e.g. may the user export at all).
    using : str, optional

    Returns
    -------
    PermissionDecision
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}")
    roles = load_roles()
    grants = [g for g in grants_of(user, using) if g.applies_to(site_id)]
    names = tuple(sorted({g.role for g in grants}))
    where = "any site" if site_id is None else f"site {site_id}"
    granting = [r for r in names if r in roles and roles[r].grants(permission)]
    if granting:
        return PermissionDecision(
            True,
            permission,
            site_id,
            names,
            f"{permission} granted by role {granting[0]} at {where}",
        )
    who = getattr(user, "username", "anonymous") or "anonymous"
    held = ", ".join(names) or "no role"
    return PermissionDecision(
        False, permission, site_id, names, f"{who} holds {held} at {where}: no {permission}"
    )


def require_permission(
    user: Any, permission: str, site_id: str | None = None, using: str | None = None
) -> PermissionDecision:
    """:func:`check_permission`, raising :class:`PermissionDenied` (HTTP 403) when refused."""
    decision = check_permission(user, permission, site_id, using)
    if not decision.allowed:
        raise PermissionDenied(decision.reason)
    return decision
