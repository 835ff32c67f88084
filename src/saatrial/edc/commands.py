"""What the eCRF command-line commands do (``saatrial serve|createuser|audit verify|db ...``).

Each ``run_*`` function sets Django up, does one thing, prints a result line
and returns the exit code: 0 success, 1 a check failed (``audit verify``), 2 the
request was refused (message on stderr). Command-line operators act as
``cli:<os user>`` in the audit trail.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TextIO

__all__ = [
    "cli_actor",
    "run_audit_verify",
    "run_createuser",
    "run_db_export",
    "run_db_load",
    "run_serve",
]


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def cli_actor() -> object:
    """The audit actor of a command-line operator: ``cli:<os user>``."""
    from saatrial.edc.audit.context import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(None, f"cli:{name}")


def _setup(migrate: bool) -> str | None:
    from django.core.exceptions import ImproperlyConfigured

    from saatrial.edc.bootstrap import setup_django
    from saatrial.edc.dburl import DatabaseUrlError

    try:
        setup_django(migrate=migrate)
    except (ImproperlyConfigured, DatabaseUrlError) as err:
        return str(err)
    return None


def run_serve(port: int) -> int:
    """``saatrial serve``: migrate, then serve on 127.0.0.1:``port``."""
    if not 0 < port < 65536:
        _err(f"saatrial serve: --port {port}: must be 1-65535")
        return 2
    problem = _setup(migrate=False)
    if problem:
        _err(f"saatrial serve: {problem}")
        return 2
    from saatrial.edc.server import serve

    serve(port)
    return 0


def run_createuser(
    username: str, role: str, site: str | None, password_stdin: bool, stdin: TextIO | None = None
) -> int:
    """``saatrial createuser``: an account with one role (audited as the CLI operator)."""
    problem = _setup(migrate=True)
    if problem:
        _err(f"saatrial createuser: {problem}")
        return 2
    from saatrial.edc.accounts.services import AccountError, create_user

    if password_stdin:
        line = (stdin or sys.stdin).readline()
        password = line.rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass("Again: ") != password:
            _err("saatrial createuser: the passwords differ")
            return 2
    try:
        user = create_user(username, password, role, site, cli_actor(), "account created (CLI)")
    except AccountError as err:
        _err(f"saatrial createuser: {err}")
        return 2
    where = f"site {site}" if site else "all sites"
    print(f"created user {user.get_username()} ({role}, {where})")
    return 0


def run_audit_verify() -> int:
    """``saatrial audit verify``: exit 0 when the chain is intact, 1 naming the first break."""
    problem = _setup(migrate=False)
    if problem:
        _err(f"saatrial audit verify: {problem}")
        return 2
    from django.db import DatabaseError

    from saatrial.edc.audit.verify import verify_chain

    try:
        result = verify_chain()
    except DatabaseError as err:
        _err(
            f"saatrial audit verify: cannot read the audit trail ({err}); run `saatrial serve` "
            "or `saatrial db load` once to create the database"
        )
        return 2
    if result.intact:
        print(result.message())
        print(f"head hash {result.head_hash}")
        return 0
    print(result.message())
    return 1


def run_db_load(study: str) -> int:
    """``saatrial db load STUDY``: a CSV folder, XLSX workbook or ``bundled``."""
    problem = _setup(migrate=True)
    if problem:
        _err(f"saatrial db load: {problem}")
        return 2
    from saatrial.edc.load import LoadRefusedError, load_study
    from saatrial.study import StudyData, StudyDataError, load_bundled_study

    try:
        data = load_bundled_study() if study == "bundled" else StudyData.read(study)
    except (StudyDataError, FileNotFoundError) as err:
        _err(f"saatrial db load: {study} cannot be read:\n{err}")
        return 2
    try:
        result = load_study(data, cli_actor(), reason=f"initial load from {data.source}")
    except LoadRefusedError as err:
        _err(f"saatrial db load: {err}")
        return 2
    total = sum(result.rows.values())
    print(
        f"loaded study {result.study_id}: {total} rows in {len(result.rows)} tables, "
        f"{result.audit_entries} audit entries, {len(result.warnings)} warnings"
    )
    return 0


def run_db_export(target: str, site: str | None, force: bool) -> int:
    """``saatrial db export DIR|FILE.xlsx [--site S]``: write the database as a study."""
    problem = _setup(migrate=False)
    if problem:
        _err(f"saatrial db export: {problem}")
        return 2
    from django.db import DatabaseError

    from saatrial.edc.load import export_study

    path = Path(target)
    try:
        data = export_study(user=cli_actor(), site=site)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            data.write_xlsx(path, overwrite=force)
        else:
            data.write_csv(path, overwrite=force)
    except (LookupError, FileExistsError, FileNotFoundError, ValueError, DatabaseError) as err:
        _err(f"saatrial db export: {err}")
        return 2
    print(f"exported {len(data.subject_ids)} subjects ({site or 'all sites'}) to {path}")
    return 0
