"""Signal handlers that audit logins, failed logins, logouts, user and role changes.

Account and membership changes are audited whatever makes them (the admin
site, a service function, a shell): one entry per changed field, attributed
to the current actor (:func:`saatrial.edc.audit.context.acting_as`) with the
current reason. Password hashes are never written to the trail (``<hidden>``)
and ``last_login`` updates are not audited (the ``login`` event records them).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest

from saatrial.edc.accounts.lockout import register_failed_login
from saatrial.edc.accounts.models import SiteMembership
from saatrial.edc.audit.chain import value_text
from saatrial.edc.audit.context import current_actor, current_reason
from saatrial.edc.audit.models import Action
from saatrial.edc.audit.service import MASK, PendingEntry, append_entries, record_event

__all__ = ["connect"]

_USER_IGNORED = frozenset({"last_login"})
_USER_MASKED = frozenset({"password"})
_MEMBERSHIP_IGNORED = frozenset({"granted_at"})


def _client(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return f"client {request.META.get('REMOTE_ADDR', '?')}"


# --- logins -----------------------------------------------------------------------------------
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record_event(
        user,
        Action.LOGIN,
        using=user._state.db or "default",
        table_name="auth_user",
        record_pk=str(user.pk),
        detail=_client(request),
    )


def _logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    record_event(
        user,
        Action.LOGOUT,
        using=user._state.db or "default",
        table_name="auth_user",
        record_pk=str(user.pk),
        detail=_client(request),
    )


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    name = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or ""
    register_failed_login(str(name)[:150], detail=_client(request))


# --- model changes ----------------------------------------------------------------------------
def _values(instance: models.Model, ignored: frozenset[str]) -> dict[str, Any]:
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if not f.primary_key and f.name not in ignored
    }


def _stored(sender: type[models.Model], pk: Any, using: str, ignored: frozenset[str]) -> dict:
    names = [f.attname for f in sender._meta.concrete_fields if not f.primary_key]
    names = [n for n in names if n not in ignored and n.removesuffix("_id") not in ignored]
    row = sender._base_manager.using(using).filter(pk=pk).values(*names).first()
    return row or {}


def _text(name: str, value: Any, masked: frozenset[str]) -> str | None:
    if value is None or value == "":
        return None
    return MASK if name in masked else value_text(value)


def _entries(
    action: str,
    table: str,
    instance: models.Model,
    key: str,
    changes: list[tuple[str, Any, Any]],
    masked: frozenset[str],
) -> list[PendingEntry]:
    return [
        PendingEntry(
            action=action,
            table_name=table,
            record_pk=str(instance.pk),
            record_key=key,
            field_name=name,
            old_value=_text(name, old, masked),
            new_value=_text(name, new, masked),
            reason=current_reason(),
        )
        for name, old, new in changes
    ]


class _Tracker:
    """Audit creates, updates and deletes of one model through its signals."""

    def __init__(
        self,
        model: type[models.Model],
        table: str,
        key: Any,
        ignored: frozenset[str],
        masked: frozenset[str] = frozenset(),
    ):
        self.model, self.table, self.key = model, table, key
        self.ignored, self.masked = ignored, masked

    def pre_save(self, sender: Any, instance: Any, raw: bool, using: str, **kwargs: Any) -> None:
        instance._saatrial_audit_old = (
            None
            if instance._state.adding or instance.pk is None
            else _stored(sender, instance.pk, using, self.ignored)
        )

    def post_save(
        self, sender: Any, instance: Any, created: bool, raw: bool, using: str, **kwargs: Any
    ) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) <= self.ignored:
            return
        new = _values(instance, self.ignored)
        old = getattr(instance, "_saatrial_audit_old", None) or {}
        if created:
            changes = [(n, None, v) for n, v in new.items() if v not in (None, "")]
        else:
            changes = [
                (n, old.get(n), v)
                for n, v in new.items()
                if old.get(n) != v and not (old.get(n) in (None, "") and v in (None, ""))
            ]
        action = Action.CREATE if created else Action.UPDATE
        pending = _entries(action, self.table, instance, self.key(instance), changes, self.masked)
        with transaction.atomic(using=using):
            append_entries(current_actor(), pending, using=using)

    def post_delete(self, sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
        old = _values(instance, self.ignored)
        changes = [(n, v, None) for n, v in old.items() if v not in (None, "")]
        pending = _entries(
            Action.DELETE, self.table, instance, self.key(instance), changes, self.masked
        )
        append_entries(current_actor(), pending, using=using)

    def connect(self) -> None:
        uid = f"saatrial-audit-{self.table}"
        pre_save.connect(self.pre_save, sender=self.model, dispatch_uid=uid + "-pre", weak=False)
        post_save.connect(self.post_save, sender=self.model, dispatch_uid=uid + "-post", weak=False)
        post_delete.connect(
            self.post_delete, sender=self.model, dispatch_uid=uid + "-del", weak=False
        )


def _membership_key(m: SiteMembership) -> str:
    username = (
        get_user_model()
        ._base_manager.using(m._state.db or "default")
        .filter(pk=m.user_id)
        .values_list(get_user_model().USERNAME_FIELD, flat=True)
        .first()
    )
    return f"{username}|{m.site_id or '*'}|{m.role}"


def connect() -> None:
    """Connect every audit signal handler (called once from ``AccountsConfig.ready``)."""
    user_model = get_user_model()
    user_logged_in.connect(_logged_in, dispatch_uid="saatrial-audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="saatrial-audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="saatrial-audit-login-failed")
    _Tracker(
        user_model, "auth_user", lambda u: u.get_username(), _USER_IGNORED, _USER_MASKED
    ).connect()
    _Tracker(SiteMembership, "site_membership", _membership_key, _MEMBERSHIP_IGNORED).connect()
