"""Django settings of the saatrial eCRF, all taken from the environment.

Environment
-----------
SAATRIAL_DATA
    Data directory (default ``./saatrial-data`` under the current directory):
    holds the SQLite database ``saatrial.sqlite3`` and, in development mode,
    the generated secret key file.
DATABASE_URL
    ``postgresql://user:password@host:port/name`` switches to PostgreSQL
    (same migrations); ``sqlite:///path`` names another SQLite file.
SAATRIAL_SECRET_KEY
    Django secret key; required unless ``SAATRIAL_DEV=1``.
SAATRIAL_DEV
    ``1`` = development/test mode: ``DEBUG`` on, a per-data-directory secret
    key is generated when none is given, ``saatrial serve`` uses Django's
    development server. Anything else = production.
SAATRIAL_ALLOWED_HOSTS
    Comma-separated host names (default ``127.0.0.1,localhost``).
SAATRIAL_SECURE_COOKIES
    ``1`` marks the session and CSRF cookies Secure (serve behind HTTPS).
SAATRIAL_SESSION_IDLE_MINUTES
    Session expiry after this many idle minutes (default 30).
SAATRIAL_LOCKOUT_ATTEMPTS, SAATRIAL_LOCKOUT_WINDOW_MINUTES, SAATRIAL_LOCKOUT_MINUTES
    Lock an account name after this many failed logins (default 5) within
    this window (default 15 min) for this long (default 15 min).

References
----------
.. [1] 21 CFR Part 11 §11.10(d) (limiting system access to authorised
   individuals), §11.300(d) (safeguards against unauthorised use of passwords).
.. [2] EU GMP Annex 11 §12 (security).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from saatrial.edc.dburl import database_from_url


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be a whole number") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be positive")
    return value


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("SAATRIAL_DATA") or "saatrial-data").resolve()
DEV = _flag("SAATRIAL_DEV")
DEBUG = DEV


def _secret_key() -> str:
    key = os.environ.get("SAATRIAL_SECRET_KEY", "").strip()
    if key:
        return key
    if not DEV:
        raise ImproperlyConfigured(
            "SAATRIAL_SECRET_KEY is not set: production mode needs a secret key from the "
            "environment (or set SAATRIAL_DEV=1 for development)"
        )
    # development/test only: one generated key per data directory, readable by its owner only
    path = DATA_DIR / "secret_key.dev"
    if not path.is_file():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(50))
        os.replace(tmp, path)
    return path.read_text(encoding="ascii").strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("SAATRIAL_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "saatrial.edc.audit",
    "saatrial.edc.trial",
    "saatrial.edc.accounts",
    "saatrial.edc.queries",
    "saatrial.edc.signatures",
    "saatrial.edc.sdv",
    "saatrial.edc.crf",
    "saatrial.edc.exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "saatrial.edc.audit.middleware.AuditActorMiddleware",
]

ROOT_URLCONF = "saatrial.edc.urls"
WSGI_APPLICATION = "saatrial.edc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _databases() -> dict[str, dict[str, object]]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        db = database_from_url(url)
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "saatrial.sqlite3")}
    if db["ENGINE"].endswith("sqlite3"):
        db["OPTIONS"] = {
            # writers take the write lock when their transaction starts: two concurrent
            # audited saves queue instead of failing halfway (the audit chain needs it)
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    return {"default": db}


DATABASES = _databases()
# queries without an explicit `using` follow the database an audited write was given
DATABASE_ROUTERS = ["saatrial.edc.audit.context.PinnedDatabaseRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = ["saatrial.edc.accounts.backends.LockoutModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Account lockout (saatrial.edc.accounts.lockout)
SAATRIAL_LOCKOUT_ATTEMPTS = _int("SAATRIAL_LOCKOUT_ATTEMPTS", 5)
SAATRIAL_LOCKOUT_WINDOW_MINUTES = _int("SAATRIAL_LOCKOUT_WINDOW_MINUTES", 15)
SAATRIAL_LOCKOUT_MINUTES = _int("SAATRIAL_LOCKOUT_MINUTES", 15)

# Sessions: expire after idle minutes (every request renews) and when the browser closes
SESSION_COOKIE_AGE = 60 * _int("SAATRIAL_SESSION_IDLE_MINUTES", 30)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("SAATRIAL_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

# django-simple-history: store the reason given to audited_save with every history row
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
