"""The demo's settings (docs/example) on PostgreSQL, with server errors logged.

``DJANGO_SETTINGS_MODULE=soak_settings`` for the restflow build of the rig; the peers'
build (``peer_settings``) starts from this module too, so both builds share the
database, the cache and the logging.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from catalogue_project.settings import *  # noqa: F403


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
        # Persistent connections, as a production deployment has them; none under ASGI,
        # where sync views run in a pool of threads and each thread would keep its own.
        "CONN_MAX_AGE": 0 if os.environ.get("RESTFLOW_SOAK_SERVER") == "uvicorn" else 60,
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": database(os.environ["RESTFLOW_SOAK_PG_URL"])}

# One HMAC key for every worker of the server (the demo's ES256 key, made per process
# without RESTFLOW_DEMO_SIGNING_KEY_FILE, would differ between workers); the peers' build
# signs with the same key and algorithm (peer_settings).
RESTFLOW_SETTINGS["JWT"] = {  # noqa: F405
    **{k: v for k, v in RESTFLOW_SETTINGS["JWT"].items() if k != "SIGNING_KEYS"},  # noqa: F405
    "SIGNING_KEY": os.environ["RESTFLOW_DEMO_SIGNING_KEY"],
}

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
