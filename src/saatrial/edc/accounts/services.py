"""Account administration: create users, grant and revoke roles, unlock accounts (all audited).

Each function runs in one transaction and attributes its changes to ``actor``
with ``reason`` (the signal handlers in :mod:`saatrial.edc.accounts.signals`
write the field-level audit entries).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from saatrial.edc.accounts.models import SiteMembership
from saatrial.edc.accounts.roles import load_roles
from saatrial.edc.audit.context import acting_as, actor_of, pinned_database
from saatrial.edc.audit.models import Action
from saatrial.edc.audit.service import record_event
from saatrial.edc.trial.models import Site

__all__ = ["AccountError", "create_user", "grant_role", "revoke_role", "unlock_user"]


class AccountError(ValueError):
    """An account request that cannot be carried out (message says why)."""


def _site_for(role_name: str, site_id: str | None, using: str) -> str | None:
    roles = load_roles()
    if role_name not in roles:
        raise AccountError(f"unknown role {role_name!r}; known: {', '.join(roles.roles)}")
    role = roles[role_name]
    if role.site_scoped and not site_id:
        raise AccountError(f"role {role_name} is site-scoped: give --site")
    if not role.site_scoped and site_id:
        raise AccountError(f"role {role_name} is study-wide: give no --site (it covers every site)")
    if site_id and not Site.objects.using(using).filter(site_id=site_id).exists():
        known = ", ".join(Site.objects.using(using).values_list("site_id", flat=True)) or "none"
        raise AccountError(f"no site {site_id!r} in the database (sites: {known})")
    return site_id or None


def grant_role(
    user: Any, role: str, site_id: str | None, actor: Any, reason: str, using: str = "default"
) -> SiteMembership:
    """Give ``user`` ``role`` at ``site_id`` (None for study-wide roles).

    Raises
    ------
    AccountError
        Unknown role, missing/extra site, unknown site, or the user already holds it.
    """
    site = _site_for(role, site_id, using)
    exists = SiteMembership.objects.using(using).filter(user_id=user.pk, site_id=site, role=role)
    if exists.exists():
        raise AccountError(f"{user.get_username()} already holds {role} at {site or 'all sites'}")
    with acting_as(actor_of(actor), reason), pinned_database(using):
        with transaction.atomic(using=using):
            membership = SiteMembership(user=user, site_id=site, role=role)
            membership.full_clean()
            membership.save(using=using)
    return membership


def revoke_role(
    membership: SiteMembership, actor: Any, reason: str, using: str = "default"
) -> None:
    """Remove a membership (audited with its values)."""
    if not reason.strip():
        raise AccountError("a reason is required to revoke a role")
    with acting_as(actor_of(actor), reason), transaction.atomic(using=using):
        membership.delete(using=using)


def create_user(
    username: str,
    password: str,
    role: str,
    site_id: str | None,
    actor: Any,
    reason: str = "account created",
    *,
    email: str = "",
    using: str = "default",
) -> Any:
    """Create an active user with one role membership, in one transaction.

    Parameters
    ----------
    username, password : str
        The password must pass the configured validators.
    role : str
        A role of ``roles.yaml``.
    site_id : str or None
        The site for site-scoped roles; None for study-wide roles.
    actor : User, Actor or None
        Who creates the account (recorded in the audit trail).

    Returns
    -------
    User

    Raises
    ------
    AccountError
        The name is taken, the role/site do not fit, or the password is refused
        (message lists the validators' reasons).
    """
    user_model = get_user_model()
    username = username.strip()
    if not username:
        raise AccountError("username is empty")
    if user_model._default_manager.db_manager(using).filter(username=username).exists():
        raise AccountError(f"user {username!r} exists already")
    site = _site_for(role, site_id, using)
    candidate = user_model(username=username, email=email)
    try:
        validate_password(password, candidate)
    except ValidationError as err:
        raise AccountError("password refused: " + " ".join(err.messages)) from None
    with acting_as(actor_of(actor), reason), pinned_database(using):
        with transaction.atomic(using=using):
            user = user_model._default_manager.db_manager(using).create_user(
                username=username, password=password, email=email
            )
            membership = SiteMembership(user=user, site_id=site, role=role)
            membership.full_clean()
            membership.save(using=using)
    return user


def unlock_user(username: str, actor: Any, reason: str, using: str = "default") -> None:
    """End a lockout early (audited as ``unlock`` with the account name as ``record_key``).

    Failed logins before the unlock no longer count towards the next lockout.
    """
    if not reason.strip():
        raise AccountError("a reason is required to unlock an account")
    record_event(
        actor_of(actor),
        Action.UNLOCK,
        using=using,
        table_name="auth_user",
        record_key=username,
        reason=reason,
    )
