"""Turn a ``DATABASE_URL`` into a Django ``DATABASES`` entry (no third-party parser).

Only the two back ends saatrial supports are accepted: PostgreSQL
(``postgresql://user:password@host:port/name?sslmode=require``; ``postgres://``
is an alias) and SQLite (``sqlite:///relative/path.sqlite3``,
``sqlite:////absolute/path.sqlite3``). Anything else is refused with a message
that names the URL scheme, never the password.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["DatabaseUrlError", "database_from_url", "redact_url"]

_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "pgsql"})


class DatabaseUrlError(ValueError):
    """A ``DATABASE_URL`` that cannot be turned into a database setting."""


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs).

    Examples
    --------
    >>> redact_url("postgresql://edc:s3cret@db.local:5432/trial")
    'postgresql://edc:***@db.local:5432/trial'
    >>> redact_url("sqlite:///data.sqlite3")
    'sqlite:///data.sqlite3'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()


def database_from_url(url: str) -> dict[str, Any]:
    """A Django database setting from a database URL.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/name[?option=value...]`` or
        ``sqlite:///path``. User, password and database name may be
        percent-encoded. Query options (e.g. ``sslmode``) go to ``OPTIONS``.

    Returns
    -------
    dict
        ``ENGINE``, ``NAME``, ``USER``, ``PASSWORD``, ``HOST``, ``PORT``,
        ``OPTIONS`` (PostgreSQL), or ``ENGINE``, ``NAME`` (SQLite).

    Raises
    ------
    DatabaseUrlError
        Unknown scheme, no database name, or a port that is not a number.

    Examples
    --------
    >>> db = database_from_url("postgresql://edc:p%40ss@127.0.0.1:5433/trial?sslmode=disable")
    >>> db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]
    ('django.db.backends.postgresql', 'trial', 'edc', 'p@ss', '127.0.0.1', '5433')
    >>> db["OPTIONS"]
    {'sslmode': 'disable'}
    >>> database_from_url("sqlite:////srv/edc/saatrial.sqlite3")["NAME"]
    '/srv/edc/saatrial.sqlite3'
    >>> database_from_url("mysql://u:p@h/db")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    saatrial.edc.dburl.DatabaseUrlError: DATABASE_URL: scheme 'mysql' is not supported ...
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:]  # sqlite:///relative -> "relative"
        elif path.startswith("//"):
            path = path[1:]  # sqlite:////abs -> "/abs"
        if not path:
            raise DatabaseUrlError(f"DATABASE_URL: no SQLite file in {redact_url(url)!r}")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    if scheme not in _POSTGRES_SCHEMES:
        raise DatabaseUrlError(
            f"DATABASE_URL: scheme {scheme!r} is not supported (use postgresql:// or sqlite:///)"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise DatabaseUrlError(f"DATABASE_URL: no database name in {redact_url(url)!r}")
    try:
        port = parts.port
    except ValueError:
        raise DatabaseUrlError(
            f"DATABASE_URL: port is not a number in {redact_url(url)!r}"
        ) from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": "" if port is None else str(port),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 0,
    }
