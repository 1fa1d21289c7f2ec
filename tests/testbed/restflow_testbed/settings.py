"""Django settings of the test bed.

SQLite by default; PostgreSQL (or any database) when ``DATABASE_URL`` is set, e.g.
``postgres://postgres@127.0.0.1:5432/restflow``. Apps of the restflow distributions that
are installed are added automatically, so a distribution installed alone
(``nox -s isolated``) runs its own tests with only what it declares.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from restflow_testbed.discovery import package_test_apps

SECRET_KEY = "restflow-test-bed-secret-key-not-for-production-0123456789"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "restflow_testbed.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = ["*"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_USER_MODEL = "accounts.User"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "restflow_testbed.accounts",
]
for _app in ("rest_framework", "restflow.authentication", "restflow.caching"):
    if _installed(_app):
        INSTALLED_APPS.append(_app)
INSTALLED_APPS += package_test_apps()

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]


def _database_from_url(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    engines = {
        "postgres": "django.db.backends.postgresql",
        "postgresql": "django.db.backends.postgresql",
        "sqlite": "django.db.backends.sqlite3",
    }
    if parts.scheme not in engines:
        raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported")
    name = unquote(parts.path.lstrip("/")) or "restflow"
    return {
        "ENGINE": engines[parts.scheme],
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "TEST": {"NAME": f"test_{name}"},
    }


# One name per test run, shared by the worker processes a test starts (they inherit
# the environment variable that the plugin sets).
_RUN = os.environ.get("RESTFLOW_TEST_RUN_ID", str(os.getpid()))
_SQLITE_DIR = Path(os.environ.get("RESTFLOW_TEST_SQLITE_DIR", tempfile.gettempdir()))

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": _database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_SQLITE_DIR / f"restflow-{_RUN}.sqlite3"),
            # A file, not memory: tests with several threads or processes share it.
            "TEST": {"NAME": str(_SQLITE_DIR / f"restflow-test-{_RUN}.sqlite3")},
        }
    }
# A second alias, for invalidation on non-default databases.
DATABASES["other"] = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": str(_SQLITE_DIR / f"restflow-other-{_RUN}.sqlite3"),
    "TEST": {"NAME": str(_SQLITE_DIR / f"restflow-test-other-{_RUN}.sqlite3")},
}

# Worker processes started by tests (celery, rqworker, dramatiq, qcluster) set
# RESTFLOW_TEST_WORKER=1 to open the test database the test process created.
if os.environ.get("RESTFLOW_TEST_WORKER"):
    for _db in DATABASES.values():
        _db["NAME"] = _db["TEST"]["NAME"]  # type: ignore[index]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}

LOGGING_CONFIG = None
