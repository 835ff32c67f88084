"""Database triggers that make audit tables append-only, and the migration operation for them.

For every protected table the database itself refuses UPDATE and DELETE (and
TRUNCATE on PostgreSQL), whichever client connects - the application, a
``psql``/``sqlite3`` shell or another program:

SQLite
    ``BEFORE UPDATE`` and ``BEFORE DELETE`` triggers that ``RAISE(ABORT, ...)``
    (SQLite has no TRUNCATE; a ``DELETE`` without ``WHERE`` fires the trigger).
PostgreSQL
    a PL/pgSQL function ``saatrial_append_only()`` raising
    ``integrity_constraint_violation``, called by a ``BEFORE UPDATE OR DELETE
    ... FOR EACH ROW`` trigger and a ``BEFORE TRUNCATE ... FOR EACH STATEMENT``
    trigger.

Both surface in Django as :class:`django.db.IntegrityError`. A database owner
can still drop a trigger; that is what the hash chain is for
(:func:`saatrial.edc.audit.verify.verify_chain`).

Use :class:`AppendOnly` in a migration to protect a model's table::

    from saatrial.edc.audit.triggers import AppendOnly
    operations = [AppendOnly(models=["queries.HistoricalQuery"])]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import NotSupportedError
from django.db.migrations.operations.base import Operation

__all__ = [
    "TRIGGER_PREFIX",
    "AppendOnly",
    "create_statements",
    "drop_statements",
    "protected_tables",
]

#: Every append-only trigger's name starts with this.
TRIGGER_PREFIX = "saatrial_ao_"

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION saatrial_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'saatrial: % on % refused: audit rows are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""


def _check_table(table: str) -> str:
    if not table.replace("_", "").isalnum() or not table.isascii():
        raise ValueError(f"table name {table!r}: letters, digits and _ only")
    return table


def create_statements(vendor: str, table: str) -> list[str]:
    """SQL that makes ``table`` append-only on ``vendor`` (``sqlite`` or ``postgresql``).

    Examples
    --------
    >>> print(create_statements("sqlite", "audit_auditentry")[0])  # doctest: +NORMALIZE_WHITESPACE
    CREATE TRIGGER saatrial_ao_upd_audit_auditentry BEFORE UPDATE ON "audit_auditentry"
    BEGIN SELECT RAISE(ABORT, 'saatrial: UPDATE on audit_auditentry refused:
    audit rows are append-only'); END
    """
    table = _check_table(table)
    if vendor == "sqlite":
        return [
            f'CREATE TRIGGER {TRIGGER_PREFIX}{op[:3].lower()}_{table} BEFORE {op} ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, 'saatrial: {op} on {table} refused: "
            f"audit rows are append-only'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if vendor == "postgresql":
        return [
            _PG_FUNCTION,
            f'CREATE TRIGGER {TRIGGER_PREFIX}row_{table} BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION saatrial_append_only()",
            f'CREATE TRIGGER {TRIGGER_PREFIX}trunc_{table} BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION saatrial_append_only()",
        ]
    raise NotSupportedError(f"append-only triggers: database {vendor!r} is not supported")


def drop_statements(vendor: str, table: str) -> list[str]:
    """SQL that removes the append-only triggers of ``table`` (migration rollback, tests)."""
    table = _check_table(table)
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{op}_{table}" for op in ("upd", "del")]
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{kind}_{table} ON "{table}"'
            for kind in ("row", "trunc")
        ]
    raise NotSupportedError(f"append-only triggers: database {vendor!r} is not supported")


def protected_tables(connection: Any) -> dict[str, frozenset[str]]:
    """Tables with enabled append-only triggers -> the operations they refuse.

    Parameters
    ----------
    connection : django.db.backends.base.base.BaseDatabaseWrapper
        E.g. ``django.db.connections["default"]``.

    Returns
    -------
    dict of str to frozenset of str
        ``{"audit_auditentry": frozenset({"UPDATE", "DELETE"}), ...}`` (plus
        ``TRUNCATE`` on PostgreSQL).
    """
    found: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
            for name, table in cursor.fetchall():
                op = {"upd": "UPDATE", "del": "DELETE"}.get(name[len(TRIGGER_PREFIX) :][:3])
                if op:
                    found.setdefault(table, set()).add(op)
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgname LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
            for name, table in cursor.fetchall():
                kind = name[len(TRIGGER_PREFIX) :].split("_", 1)[0]
                ops = {"row": ("UPDATE", "DELETE"), "trunc": ("TRUNCATE",)}.get(kind, ())
                found.setdefault(table, set()).update(ops)
        else:
            raise NotSupportedError(f"database {connection.vendor!r} is not supported")
    return {table: frozenset(ops) for table, ops in sorted(found.items())}


class AppendOnly(Operation):
    """Migration operation: make the tables of ``models`` append-only (see module doc).

    Parameters
    ----------
    models : sequence of str
        Model labels ``app_label.ModelName`` (resolved in the migration state,
        so the operation follows the table names the migrations create).
    """

    reversible = True
    reduces_to_sql = False

    def __init__(self, models: Sequence[str]):
        self.models = list(models)
        super().__init__()

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__name__, [], {"models": self.models})

    def state_forwards(self, app_label: str, state: Any) -> None:
        """Triggers are not part of Django's model state."""

    def _tables(self, state: Any) -> list[str]:
        return [state.apps.get_model(label)._meta.db_table for label in self.models]

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        vendor = schema_editor.connection.vendor
        for table in self._tables(to_state):
            for sql in create_statements(vendor, table):
                schema_editor.execute(sql, params=None)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        vendor = schema_editor.connection.vendor
        for table in self._tables(from_state):
            for sql in drop_statements(vendor, table):
                schema_editor.execute(sql, params=None)

    def describe(self) -> str:
        return "Make append-only (refuse UPDATE/DELETE): " + ", ".join(self.models)

    @property
    def migration_name_fragment(self) -> str:
        return "append_only"
