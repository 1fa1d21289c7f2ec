"""The demo's settings (docs/example) on PostgreSQL, with server errors logged.

``DJANGO_SETTINGS_MODULE=soak_settings`` for the restflow build of the rig; the peers'
build (``peer_settings``) starts from this module too, so both builds share the
database, the cache and the logging.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from catalogue_project.settings import *  # noqa: F403

ASGI = os.environ.get("RESTFLOW_SOAK_SERVER") == "uvicorn"


def database(url: str) -> dict[str, object]:
    """``postgres://user:password@host:port/name`` as a Django database entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ValueError(f"RESTFLOW_SOAK_PG_URL={url!r}: expected postgres://user@host:port/dbname")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.strip("/"),
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        # Persistent connections under gunicorn, as a production deployment has them. Under
        # ASGI Django runs each request's sync code in a thread of its own, so a persistent
        # connection would be opened per request all the same: there both builds borrow
        # from Django's psycopg connection pool (Django 5.1+), which requires
        # CONN_MAX_AGE = 0.
        "CONN_MAX_AGE": 0 if ASGI else 60,
        "CONN_HEALTH_CHECKS": not ASGI,
        **({"OPTIONS": {"pool": {"min_size": 2, "max_size": 20, "timeout": 10}}} if ASGI else {}),
    }


DATABASES = {"default": database(os.environ["RESTFLOW_SOAK_PG_URL"])}

# Each 5xx leaves its traceback in the server's log: the rig counts them by cause.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "restflow": {"handlers": ["console"], "level": "WARNING"},
    },
}

# Logins hash the password. Django's default (PBKDF2, about 0.5 s of CPU on this kind of
# machine) would make the 1% of logins in the mix most of the load, the same in both
# builds; the rig measures the libraries, so it hashes with MD5 unless told
# ``RESTFLOW_SOAK_PBKDF2=1`` (``--pbkdf2``). The seeded users are hashed the same way.
if os.environ.get("RESTFLOW_SOAK_PBKDF2") != "1":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The soak run gives Celery a broker of its own (a second private redis-server), so that
# the broker can be stopped without stopping the cache (``--fault broker-stop``).
if os.environ.get("RESTFLOW_SOAK_BROKER_URL") and "CELERY_BROKER_URL" in globals():
    CELERY_BROKER_URL = os.environ["RESTFLOW_SOAK_BROKER_URL"]

# The 30-minute soak shortens the refresh lifetime (``RESTFLOW_SOAK_REFRESH_SECONDS``) so
# that blacklist and session records reach their steady state inside the run: every
# record expires with its token, so the key count must level off after one lifetime.
if os.environ.get("RESTFLOW_SOAK_REFRESH_SECONDS"):
    from datetime import timedelta

    RESTFLOW_SETTINGS["JWT"]["REFRESH_TOKEN_LIFETIME"] = timedelta(  # noqa: F405
        seconds=int(os.environ["RESTFLOW_SOAK_REFRESH_SECONDS"])
    )
