"""Django test set-up for the eCRF tests (pytest-django).

- Settings: ``saatrial.edc.settings`` in development mode, data directory in a
  temporary folder, the ``default`` database SQLite (in memory for tests) -
  whatever ``DATABASE_URL`` says.
- When ``SAATRIAL_TEST_DATABASE_URL`` names a PostgreSQL server (``make test``
  sets it from ``scripts/ensure_postgres.sh``), a second alias ``postgresql``
  points at it; tests taking the ``alias`` fixture run once per back end
  (the PostgreSQL case is skipped, visibly, without the variable).
- Transactional tests (``django_db(transaction=True)``) end with Django's
  ``flush``, which the append-only triggers refuse; the patch below lifts the
  triggers for the flush and puts them back right after.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

_DATA = tempfile.mkdtemp(prefix="saatrial-edc-tests-")
os.environ["SAATRIAL_DATA"] = _DATA
os.environ["SAATRIAL_DEV"] = "1"
os.environ.pop("DATABASE_URL", None)
os.environ["DJANGO_SETTINGS_MODULE"] = "saatrial.edc.settings"

from django.conf import settings  # noqa: E402

from saatrial.edc.dburl import database_from_url  # noqa: E402

from .studies import minimal_study_rows  # noqa: E402

PG_URL = os.environ.get("SAATRIAL_TEST_DATABASE_URL", "").strip()
if PG_URL:
    settings.DATABASES["postgresql"] = database_from_url(PG_URL)
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests

import django  # noqa: E402

django.setup()

#: Database aliases configured for this run.
ALIASES: list[str] = ["default", *(["postgresql"] if PG_URL else [])]
#: Mark for tests that use every configured database.
ALL_DATABASES = pytest.mark.django_db(databases=ALIASES)

BACKENDS = {"sqlite": "default", "postgresql": "postgresql"}


@pytest.fixture(params=list(BACKENDS))
def alias(request: pytest.FixtureRequest) -> str:
    """Database alias, once per back end (PostgreSQL skipped without a server)."""
    name = BACKENDS[request.param]
    if name not in ALIASES:
        pytest.skip("SAATRIAL_TEST_DATABASE_URL is not set (run scripts/ensure_postgres.sh)")
    return name


@pytest.fixture
def postgres_alias() -> str:
    """The PostgreSQL alias (skips without a server)."""
    if "postgresql" not in ALIASES:
        pytest.skip("SAATRIAL_TEST_DATABASE_URL is not set (run scripts/ensure_postgres.sh)")
    return "postgresql"


# --- transactional tests: lift the append-only triggers for Django's flush ------------------
def _patch_flush() -> None:
    from django.db import connections
    from django.test import TransactionTestCase

    from saatrial.edc.audit.triggers import create_statements, drop_statements, protected_tables

    original = TransactionTestCase._fixture_teardown
    if getattr(original, "_saatrial_patched", False):
        return

    def teardown(self: Any) -> None:
        lifted: list[tuple[str, list[str]]] = []
        for alias in self._databases_names(include_mirrors=False):
            connection = connections[alias]
            tables = list(protected_tables(connection))
            with connection.cursor() as cursor:
                for table in tables:
                    for sql in drop_statements(connection.vendor, table):
                        cursor.execute(sql)
            lifted.append((alias, tables))
        try:
            original(self)
        finally:
            for alias, tables in lifted:
                connection = connections[alias]
                with connection.cursor() as cursor:
                    for table in tables:
                        for sql in create_statements(connection.vendor, table):
                            cursor.execute(sql)

    teardown._saatrial_patched = True  # type: ignore[attr-defined]
    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]


_patch_flush()


# --- shared fixtures ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def bundled_study() -> Any:
    from saatrial.study import load_bundled_study

    return load_bundled_study()


@pytest.fixture
def make_user(alias: str) -> Iterator[Any]:
    """Factory: ``make_user("ana", role="investigator", site="S1")`` on the test's database."""
    from django.contrib.auth import get_user_model

    from saatrial.edc.accounts.models import SiteMembership
    from saatrial.edc.audit.context import pinned_database

    def make(username: str, role: str | None = None, site: str | None = None) -> Any:
        with pinned_database(alias):
            user = (
                get_user_model()
                ._default_manager.db_manager(alias)
                .create_user(username=username, password="correct horse battery")
            )
            if role:
                SiteMembership(user=user, site_id=site, role=role).save(using=alias)
        return user

    yield make


@pytest.fixture
def small_study() -> Any:
    """A tiny valid StudyData: sites S1 and S2, two subjects each."""
    from saatrial.study import StudyData

    return StudyData.from_records(minimal_study_rows(("S1", "S2"), 2))
