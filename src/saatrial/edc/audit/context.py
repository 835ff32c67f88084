"""Who is acting, which database is being written, and whether a write is audited.

Three context variables (per thread and per asyncio task):

- the *actor* (:class:`Actor`: user id + username) that signal handlers use
  for changes that do not pass through :func:`audited_save` (user accounts,
  role memberships); set per request by the middleware and by the CLI with
  :func:`acting_as`;
- the *pinned database*: :class:`PinnedDatabaseRouter` sends every query
  without an explicit ``using`` to the database pinned with
  :func:`pinned_database` (so that model validation, django-simple-history
  and signal handlers follow the alias an audited write was given);
- the *audited-write grant*: clinical models refuse ``save()``/``delete()``
  unless called inside :func:`allow_audited_write`, which only the audit
  service enters.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SYSTEM",
    "Actor",
    "PinnedDatabaseRouter",
    "acting_as",
    "actor_of",
    "allow_audited_write",
    "audited_write_allowed",
    "current_actor",
    "current_reason",
    "pinned_database",
]


@dataclass(frozen=True)
class Actor:
    """Who made a change, as recorded in the audit trail.

    Attributes
    ----------
    user_id : int or None
        Primary key of the Django user; None for the system or a command-line
        operator without an account.
    username : str
        Login name (``system``, ``cli:<os user>`` for command-line operators).

    Examples
    --------
    >>> Actor(None, "cli:root").username
    'cli:root'
    """

    user_id: int | None
    username: str


#: The actor of changes made by the system itself (migrations, signals without a user).
SYSTEM = Actor(None, "system")

_ACTOR: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "saatrial_audit_actor", default=None
)
_REASON: contextvars.ContextVar[str] = contextvars.ContextVar("saatrial_audit_reason", default="")
_PINNED: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "saatrial_pinned_database", default=None
)
_WRITE_GRANT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "saatrial_audited_write", default=False
)


def actor_of(user: Any) -> Actor:
    """The :class:`Actor` for a Django user, an Actor, or None (-> the current actor).

    Anonymous users count as the current actor (usually :data:`SYSTEM`).

    Examples
    --------
    >>> actor_of(Actor(7, "ana")) == Actor(7, "ana")
    True
    >>> actor_of(None)
    Actor(user_id=None, username='system')
    """
    if isinstance(user, Actor):
        return user
    if user is None or not getattr(user, "is_authenticated", False):
        return current_actor()
    return Actor(int(user.pk), str(user.get_username()))


def current_actor() -> Actor:
    """The actor set by :func:`acting_as` or the request middleware, else :data:`SYSTEM`."""
    return _ACTOR.get() or SYSTEM


def current_reason() -> str:
    """The reason set by :func:`acting_as` ('' if none)."""
    return _REASON.get()


@contextmanager
def acting_as(actor: Any, reason: str = "") -> Iterator[Actor]:
    """Within the block, changes made without an explicit user are attributed to ``actor``.

    ``reason`` is recorded for account and role changes audited by signal
    handlers (clinical changes pass their reason to ``audited_save``).

    Examples
    --------
    >>> with acting_as(Actor(None, "cli:ana")):
    ...     current_actor().username
    'cli:ana'
    >>> current_actor().username
    'system'
    """
    resolved = actor_of(actor) if actor is not None else SYSTEM
    token = _ACTOR.set(resolved)
    reason_token = _REASON.set(reason.strip())
    try:
        yield resolved
    finally:
        _REASON.reset(reason_token)
        _ACTOR.reset(token)


@contextmanager
def pinned_database(alias: str) -> Iterator[str]:
    """Route every query without an explicit ``using`` to ``alias`` within the block."""
    token = _PINNED.set(alias)
    try:
        yield alias
    finally:
        _PINNED.reset(token)


def pinned_alias() -> str | None:
    """The pinned database alias, or None."""
    return _PINNED.get()


@contextmanager
def allow_audited_write() -> Iterator[None]:
    """Let clinical models and the audit table be written (audit service only)."""
    token = _WRITE_GRANT.set(True)
    try:
        yield
    finally:
        _WRITE_GRANT.reset(token)


def audited_write_allowed() -> bool:
    """True inside :func:`allow_audited_write`."""
    return _WRITE_GRANT.get()


class PinnedDatabaseRouter:
    """Django database router: the pinned alias (if any) for reads and writes.

    Without a pinned alias it returns None and Django's default routing
    applies (the instance's own database, else ``default``).
    """

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        """The pinned alias, if one is pinned."""
        return _PINNED.get()

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        """The pinned alias, if one is pinned."""
        return _PINNED.get()
