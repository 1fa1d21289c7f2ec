"""Django settings of the benchmark processes.

SQLite file by default (one per process, under ``RESTFLOW_BENCH_DIR``); PostgreSQL when
``DATABASE_URL`` is set. The user model is the test bed's ``accounts.User``. Caches are
switched per comparison with ``override_settings``; the Redis URL comes from
``RESTFLOW_BENCH_REDIS_URL`` (a private server started by the runner).
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

SECRET_KEY = "restflow-bench-secret-key-not-for-production-0123456789abcdef"
JWT_SECRET = "bench-signing-key-" + "k" * 54
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "bench_app.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = ["*"]
MIDDLEWARE: list[str] = []
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_USER_MODEL = "accounts.User"
LOGGING_CONFIG = None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "restflow_testbed.accounts",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "restflow.authentication",
    "restflow.caching",
    "bench_app",
]

REDIS_URL = os.environ.get("RESTFLOW_BENCH_REDIS_URL", "redis://127.0.0.1:1/0")
_DIR = Path(os.environ.get("RESTFLOW_BENCH_DIR", tempfile.gettempdir()))
_RUN = os.environ.get("RESTFLOW_BENCH_RUN_ID", str(os.getpid()))


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL scheme {parts.scheme!r} is not supported by the bench")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "restflow_bench",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": _database(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_DIR / f"restflow-bench-{_RUN}.sqlite3"),
        }
    }

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "bench",
        "OPTIONS": {"MAX_ENTRIES": 1_000_000},
    },
}

# Long-lived access tokens: a loaded machine must not see tokens expire mid-comparison.
LIFETIME = timedelta(hours=2)
RESTFLOW_SETTINGS = {
    "JWT": {"SIGNING_KEY": JWT_SECRET, "BLACKLIST_ALLOW_LOCMEM": True, "ACCESS_TOKEN_LIFETIME": LIFETIME}
}

SIMPLE_JWT = {
    "SIGNING_KEY": JWT_SECRET,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": LIFETIME,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
REST_FRAMEWORK_EXTENSIONS = {"DEFAULT_CACHE_RESPONSE_TIMEOUT": 3600}
