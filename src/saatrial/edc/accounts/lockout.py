"""Account lockout after repeated failed logins, kept in the audit trail.

Policy (:class:`LockoutPolicy`, from settings ``SAATRIAL_LOCKOUT_*``): when
``max_failures`` failed logins for one account name fall within ``window``
(counting only failures after the last successful login, lockout or unlock),
the name is locked for ``duration``. While locked, every login attempt is
refused - even with the right password - and audited as ``login_refused``;
an administrator may unlock earlier (:func:`saatrial.edc.accounts.services.unlock_user`).

The rule itself is a pure function (:func:`lock_decision`); the state is read
from audit entries (``login``, ``login_failed``, ``lockout``, ``unlock``) so that
it needs no table of its own and cannot be edited behind the audit trail.
Names are locked whether or not an account exists (no hint which names exist).

References
----------
.. [1] 21 CFR 11.300(d): safeguards to prevent unauthorized use of passwords
   and to detect and report attempts at unauthorized use.
.. [2] NIST SP 800-63B §5.2.2 (rate limiting / throttling of failed attempts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from saatrial.edc.audit.chain import timestamp_text
from saatrial.edc.audit.context import Actor
from saatrial.edc.audit.models import Action, AuditEntry
from saatrial.edc.audit.service import record_event

__all__ = [
    "LockDecision",
    "LockoutPolicy",
    "LockoutStatus",
    "current_lockout",
    "lock_decision",
    "policy_from_settings",
    "register_failed_login",
]


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures within which window lock an account name, and for how long."""

    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)
    duration: dt.timedelta = dt.timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError(f"max_failures must be >= 1, got {self.max_failures}")
        if self.window <= dt.timedelta(0) or self.duration <= dt.timedelta(0):
            raise ValueError("window and duration must be positive")


@dataclass(frozen=True)
class LockDecision:
    """Outcome of :func:`lock_decision`.

    Attributes
    ----------
    lock : bool
        Lock the name now.
    failures_in_window : int
        Failures counted within the window ending now (the one just made included).
    locked_until : datetime or None
        End of the lock when ``lock``.
    """

    lock: bool
    failures_in_window: int
    locked_until: dt.datetime | None


@dataclass(frozen=True)
class LockoutStatus:
    """Whether an account name is locked now, and until when."""

    username: str
    locked: bool
    locked_until: dt.datetime | None = None

    def message(self) -> str:
        """Text for the login page."""
        if not self.locked or self.locked_until is None:
            return ""
        return (
            "Too many failed logins: this account is locked until "
            f"{self.locked_until:%Y-%m-%d %H:%M} UTC. Ask an administrator to unlock it sooner."
        )


def lock_decision(
    failures: Sequence[dt.datetime], now: dt.datetime, policy: LockoutPolicy
) -> LockDecision:
    """Should the name be locked after a failed login at ``now``?

    Parameters
    ----------
    failures : sequence of datetime
        Times of the failed logins since the last successful login, lockout or
        unlock, the one at ``now`` included.
    now : datetime
    policy : LockoutPolicy

    Returns
    -------
    LockDecision
        ``lock`` when at least ``policy.max_failures`` failures lie in
        ``(now - window, now]``.

    Examples
    --------
    >>> t0 = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)
    >>> minutes = [t0 + dt.timedelta(minutes=m) for m in (0, 1, 2, 3, 4)]
    >>> lock_decision(minutes, minutes[-1], LockoutPolicy()).lock
    True
    >>> lock_decision(minutes[:4], minutes[3], LockoutPolicy()).failures_in_window
    4
    """
    start = now - policy.window
    count = sum(1 for t in failures if start < t <= now)
    if count >= policy.max_failures:
        return LockDecision(True, count, now + policy.duration)
    return LockDecision(False, count, None)


def policy_from_settings() -> LockoutPolicy:
    """The policy configured in Django settings (``SAATRIAL_LOCKOUT_*``)."""
    return LockoutPolicy(
        max_failures=int(getattr(settings, "SAATRIAL_LOCKOUT_ATTEMPTS", 5)),
        window=dt.timedelta(minutes=int(getattr(settings, "SAATRIAL_LOCKOUT_WINDOW_MINUTES", 15))),
        duration=dt.timedelta(minutes=int(getattr(settings, "SAATRIAL_LOCKOUT_MINUTES", 15))),
    )


def _last_reset(username: str, using: str) -> AuditEntry | None:
    own = Q(username=username, action__in=(Action.LOGIN, Action.LOCKOUT))
    unlocked = Q(record_key=username, action=Action.UNLOCK)  # made by an administrator
    return AuditEntry.objects.using(using).filter(own | unlocked).order_by("-seq").first()


def current_lockout(
    username: str, now: dt.datetime | None = None, using: str = "default"
) -> LockoutStatus:
    """Is ``username`` locked at ``now`` (default: now)?"""
    now = now or timezone.now()
    last = _last_reset(username, using)
    if last is None or last.action != Action.LOCKOUT or not last.new_value:
        return LockoutStatus(username, False)
    until = dt.datetime.fromisoformat(last.new_value)
    return LockoutStatus(username, until > now, until if until > now else None)


def register_failed_login(username: str, detail: str = "", using: str = "default") -> LockoutStatus:
    """Audit a failed login for ``username`` and lock the name when the policy says so.

    Returns
    -------
    LockoutStatus
        The status after this attempt.
    """
    actor = Actor(None, username)
    status = current_lockout(username, None, using)
    if status.locked:
        record_event(
            actor, Action.LOGIN_REFUSED, using=using, table_name="auth_user", detail=detail
        )
        return status
    event = record_event(
        actor, Action.LOGIN_FAILED, using=using, table_name="auth_user", detail=detail
    )
    moment = event.timestamp
    last = _last_reset(username, using)
    failures = AuditEntry.objects.using(using).filter(username=username, action=Action.LOGIN_FAILED)
    if last is not None:
        failures = failures.filter(seq__gt=last.seq)
    times = list(failures.values_list("timestamp", flat=True))
    decision = lock_decision(times, moment, policy_from_settings())
    if not decision.lock:
        return LockoutStatus(username, False)
    assert decision.locked_until is not None
    record_event(
        actor,
        Action.LOCKOUT,
        using=using,
        table_name="auth_user",
        field_name="locked_until",
        new_value=timestamp_text(decision.locked_until),
        detail=f"{decision.failures_in_window} failed logins within the lockout window",
    )
    return LockoutStatus(username, True, decision.locked_until)
