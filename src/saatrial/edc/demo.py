"""The eCRF part of ``saatrial demo``: the bundled study in the default database, a demo login.

After the report, ``saatrial demo`` calls :func:`run_edc_demo`. When the web
extra is installed (Django importable) it migrates the default database
(``SAATRIAL_DATA``, default ``./saatrial-data``, or ``DATABASE_URL``), loads
the bundled study when the database holds no study yet, creates the account
``demo`` when absent (investigator at the bundled study's site, to browse and
enter data, and statistician, to export and run the analysis) with a
generated password written to ``<data dir>/demo-login.txt`` (mode 0600), and
prints how to browse it. Without Django it prints one line saying how to
enable it. It never fails the demo: a problem is printed, not raised.

Without ``SAATRIAL_SECRET_KEY`` the demo sets the database up in development
mode (``SAATRIAL_DEV=1``: a per-data-directory key) and says to serve it the
same way; the development server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEMO_USERNAME",
    "DemoDatabase",
    "demo_lines",
    "prepare_demo_database",
    "read_login_file",
    "run_edc_demo",
    "web_available",
    "write_login_file",
]

DEMO_USERNAME = "demo"
#: The study that ``saatrial demo`` loads (the bundled study's id).
BUNDLED_STUDY_ID = "nct02218437"
LOGIN_FILE = "demo-login.txt"
URL = "http://127.0.0.1:8000"
ENABLE_HINT = (
    "eCRF demo skipped: the web app is not installed; enable it with "
    "pip install 'saatrial[web]' and run saatrial demo again."
)


def web_available() -> bool:
    """True when the web extra (Django, django-simple-history) can be imported.

    Only looks the packages up (``importlib.util.find_spec``): importing
    Django is left to the caller.
    """
    return all(importlib.util.find_spec(name) is not None for name in ("django", "simple_history"))


@dataclass(frozen=True)
class DemoDatabase:
    """What :func:`prepare_demo_database` did.

    Attributes
    ----------
    data_dir : Path
        The data directory (login file, SQLite database, reports).
    database : str
        The database, for people (SQLite file or PostgreSQL host/name).
    study_message : str
        Loaded now, or why not.
    username : str
    password : str or None
        The demo password (from the login file when the account existed;
        None when the account exists but the file is gone).
    account_message : str
        Created now, existed, or why not created.
    login_file : Path
    serve_command : str
        How to start the server for this database.
    """

    data_dir: Path
    database: str
    study_message: str
    username: str
    password: str | None
    account_message: str
    login_file: Path
    serve_command: str


def write_login_file(path: Path, username: str, password: str) -> None:
    """Write the demo login to ``path``, readable by its owner only (temp file, then rename).

    Examples
    --------
    >>> import tempfile, stat
    >>> p = Path(tempfile.mkdtemp()) / "demo-login.txt"
    >>> write_login_file(p, "demo", "s3cret-pass-phrase")
    >>> read_login_file(p), oct(stat.S_IMODE(p.stat().st_mode))
    (('demo', 's3cret-pass-phrase'), '0o600')
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = (
        "saatrial eCRF demo login (written by `saatrial demo`; keep it private)\n"
        f"created: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\n"
        f"url: {URL}\n"
        f"username: {username}\n"
        f"password: {password}\n"
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)  # whatever the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_login_file(path: Path) -> tuple[str, str] | None:
    """(username, password) from a login file, or None when missing or unreadable."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    values = dict(line.split(": ", 1) for line in lines if ": " in line)
    if "username" not in values or "password" not in values:
        return None
    return values["username"], values["password"]


def _describe_database() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {settings['NAME']}"
    return f"{connection.vendor} {settings.get('HOST') or 'localhost'}/{settings['NAME']}"


def prepare_demo_database(username: str = DEMO_USERNAME) -> DemoDatabase:
    """Migrate the default database, load the bundled study if empty, create the demo account.

    Parameters
    ----------
    username : str
        Name of the demo account.

    Returns
    -------
    DemoDatabase

    Raises
    ------
    django.core.exceptions.ImproperlyConfigured, saatrial.edc.dburl.DatabaseUrlError
        The environment names an unusable database.
    django.db.DatabaseError
        The database cannot be reached or written.
    """
    dev_mode = not os.environ.get("SAATRIAL_SECRET_KEY", "").strip()
    if dev_mode:
        os.environ["SAATRIAL_DEV"] = "1"  # this process only: a generated key, see settings
    from saatrial.edc.bootstrap import setup_django

    setup_django(migrate=True)
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from saatrial.edc.accounts.services import create_user, grant_role
    from saatrial.edc.commands import cli_actor
    from saatrial.edc.load import load_study
    from saatrial.edc.trial.models import Study
    from saatrial.study import load_bundled_study

    data_dir = Path(settings.DATA_DIR)
    login_file = data_dir / LOGIN_FILE
    actor = cli_actor()
    study = Study.objects.first()
    if study is None:
        bundled = load_bundled_study()
        result = load_study(bundled, actor, reason="saatrial demo: the bundled study")
        study_message = (
            f"loaded the bundled study {result.study_id} ({len(bundled.subject_ids)} subjects)"
        )
        study_id = result.study_id
    else:
        study_id = study.study_id
        study_message = f"the database already holds study {study_id}: not loaded again"

    password: str | None = None
    users = get_user_model()._default_manager
    if users.filter(username=username).exists():
        saved = read_login_file(login_file)
        password = saved[1] if saved and saved[0] == username else None
        account_message = f"account {username} exists already"
        if password is None:
            account_message += f" (its password is not in {login_file})"
    elif study_id != BUNDLED_STUDY_ID:
        account_message = (
            f"no demo account created: the database holds study {study_id}, "
            f"not the bundled study {BUNDLED_STUDY_ID}"
        )
    else:
        from saatrial.edc.trial.models import Site

        site = Site.objects.order_by("site_id").values_list("site_id", flat=True).first()
        password = secrets.token_urlsafe(12)
        reason = "demo account (saatrial demo)"
        user = create_user(username, password, "investigator", site, actor, reason)
        grant_role(user, "statistician", None, actor, reason)
        write_login_file(login_file, username, password)
        account_message = (
            f"created account {username} (investigator at {site}, statistician); "
            f"login saved in {login_file}"
        )
    serve = "saatrial serve" if not dev_mode else "SAATRIAL_DEV=1 saatrial serve"
    if os.environ.get("SAATRIAL_DATA"):
        serve = f"SAATRIAL_DATA={data_dir} {serve}"
    return DemoDatabase(
        data_dir,
        _describe_database(),
        study_message,
        username,
        password,
        account_message,
        login_file,
        serve,
    )


def demo_lines(demo: DemoDatabase) -> list[str]:
    """What the demo prints about the database (the last line says how to browse it).

    Examples
    --------
    >>> d = DemoDatabase(Path("d"), "SQLite d/saatrial.sqlite3", "loaded the bundled study x",
    ...                  "demo", "pw", "created account demo", Path("d/demo-login.txt"),
    ...                  "saatrial serve")
    >>> demo_lines(d)[-1]
    'Browse it: saatrial serve, then http://127.0.0.1:8000 — login demo / pw'
    """
    login = (
        f"login {demo.username} / {demo.password}"
        if demo.password
        else (f"login {demo.username} (password: see {demo.login_file})")
    )
    return [
        f"eCRF database: {demo.database}: {demo.study_message}; {demo.account_message}.",
        f"Browse it: {demo.serve_command}, then {URL} — {login}",
    ]


def run_edc_demo(echo: Callable[[str], None] = print) -> bool:
    """The eCRF part of ``saatrial demo``: set the database up, print how to browse it.

    Never raises: without the web extra it prints how to enable it; any other
    problem is printed with its reason.

    Parameters
    ----------
    echo : callable
        Prints one line.

    Returns
    -------
    bool
        True when the database is ready to browse.
    """
    if not web_available():
        echo(ENABLE_HINT)
        return False
    try:
        from django.conf import settings

        if settings.configured:  # e.g. a test session: its database is not the default one
            echo("eCRF demo skipped: Django is already set up in this process")
            return False
        demo = prepare_demo_database()
    except Exception as err:  # never fail the demo because of the eCRF part
        echo(f"eCRF demo skipped: {type(err).__name__}: {err}")
        return False
    for line in demo_lines(demo):
        echo(line)
    return True
