"""Settings of the catalogue demo project.

Embedded defaults: SQLite, Django's local-memory cache, the ``inline`` dispatcher and the
in-memory JWT blacklist (one process). ``demo.py`` switches to real parts through the
environment:

``RESTFLOW_DEMO_REDIS``   a Redis URL: the cache and the JWT blacklist live in Redis
``RESTFLOW_DEMO_BROKER``  ``celery`` | ``rq`` | ``dramatiq`` | ``django_q``: invalidation
                          jobs go to that broker (on the same Redis) and a worker runs them
``RESTFLOW_DEMO_DB``      the SQLite file (default: in the system's temporary directory)
``RESTFLOW_DEMO_SIGNING_KEY_FILE``  the PEM of the ES256 key that signs the tokens (demo.py
                          makes it with ``restflow_keys generate`` in its temporary directory;
                          default: a new key per process, so tokens die with the server)
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

REDIS_URL = os.environ.get("RESTFLOW_DEMO_REDIS") or None
BROKER = os.environ.get("RESTFLOW_DEMO_BROKER") or None
# The dispatcher name each broker registers (restflow-dispatch-* entry points).
DISPATCHERS = {
    None: "inline",
    "celery": "celery",
    "rq": "django_rq",
    "dramatiq": "dramatiq",
    "django_q": "django_q",
}
if BROKER not in DISPATCHERS:
    raise ValueError(f"RESTFLOW_DEMO_BROKER={BROKER!r}: use one of celery, rq, dramatiq, django_q")
if BROKER and not REDIS_URL:
    raise ValueError("RESTFLOW_DEMO_BROKER needs RESTFLOW_DEMO_REDIS: the worker shares the cache")

SECRET_KEY = os.environ.get("RESTFLOW_DEMO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "catalogue_project.urls"
WSGI_APPLICATION = "catalogue_project.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "restflow.authentication",  # JWT views, blacklist model, checks
    "restflow.caching",  # invalidation rules, auto-discovery, checks
    "catalogue",
]
if BROKER == "rq":
    INSTALLED_APPS.append("django_rq")  # the rqworker command
elif BROKER == "django_q":
    INSTALLED_APPS.append("django_q")  # the qcluster command and its tables

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # the CSRF token of /browser/
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("RESTFLOW_DEMO_DB")
        or str(Path(tempfile.gettempdir()) / "restflow-demo.sqlite3"),
    }
}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # demo.py picks a prefix per run: a fresh database never meets old entries.
            "KEY_PREFIX": os.environ.get("RESTFLOW_DEMO_CACHE_PREFIX", "restflow-demo"),
            # A Redis that hangs (not down: frozen, overloaded, a lost network path) must
            # answer as an outage (503 from the blacklist, a computed value from the cache)
            # within half a second, not hold every worker for as long as it hangs.
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["restflow.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}


def _signing_key() -> str:
    """The ES256 private key (PEM): from the file demo.py generated, else a fresh one."""
    path = os.environ.get("RESTFLOW_DEMO_SIGNING_KEY_FILE")
    if path:
        return Path(path).read_text()
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        raise ImproperlyConfigured(
            "The demo signs its tokens with ES256, which needs cryptography: "
            "pip install 'restflow-jwt[crypto]'."
        ) from None
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


RESTFLOW_SETTINGS = {
    "JWT": {
        # A ring of one asymmetric key: tokens carry its kid, and its public half is
        # served at /api/auth/.well-known/jwks.json (HMAC secrets are never published).
        "SIGNING_KEYS": [{"KEY": _signing_key(), "ALGORITHM": "ES256", "STATE": "active"}],
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
        "ISSUER": "restflow-demo",
        "ROTATE_REFRESH_TOKENS": True,
        # The local-memory cache is per process: fine for one runserver, wrong for a
        # fleet, so restflow refuses it unless told otherwise.
        "BLACKLIST_ALLOW_LOCMEM": REDIS_URL is None,
        # /browser/ signs in through cookies (catalogue_project/browser.py)
        "COOKIE": {"REFRESH_PATH": "/api/browser/"},
    },
    "CACHE_SETTINGS": {
        "DEFAULT_DISPATCHER": DISPATCHERS[BROKER],
        "DISPATCHER_SETTINGS": {
            "celery": {"QUEUE": "restflow-demo"},
            "django_rq": {"QUEUE": "restflow-demo"},
            "dramatiq": {"QUEUE": "restflow-demo"},
        },
    },
}

if BROKER == "celery":
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_SERIALIZER = "json"
    CELERY_ACCEPT_CONTENT = ["json"]
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
elif BROKER == "rq":
    RQ_QUEUES = {"restflow-demo": {"URL": REDIS_URL}}
elif BROKER == "django_q":
    Q_CLUSTER = {
        "name": "restflow-demo",
        "redis": REDIS_URL,
        "workers": 1,
        "timeout": 30,
        "retry": 60,
        "max_attempts": 1,
        "scheduler": False,
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "restflow": {"handlers": ["console"], "level": "WARNING"},
    },
}
