"""Settings of the start-up comparison; ``RESTFLOW_BENCH_STARTUP`` picks the apps."""

from __future__ import annotations

import os
from datetime import timedelta

SECRET_KEY = "restflow-bench-startup-secret-key-0123456789abcdef0123456789"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
LOGGING_CONFIG = None
RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": "bench-startup-" + "k" * 60}}
SIMPLE_JWT = {"SIGNING_KEY": "bench-startup-" + "k" * 60}

BARE = ["django.contrib.auth", "django.contrib.contenttypes", "restflow_testbed.accounts"]
VARIANTS = {
    "bare": BARE,
    "drf": [*BARE, "rest_framework"],
    "restflow": [*BARE, "rest_framework", "restflow.authentication", "restflow.caching"],
    "simplejwt": [
        *BARE, "rest_framework", "rest_framework_simplejwt", "rest_framework_simplejwt.token_blacklist",
    ],
}
# The first-request probe (bench_first_request): restflow with the cache and the JWT
# blacklist in Redis, a JWT-protected view, a database file prepared beforehand.
VARIANTS["restflow_redis"] = VARIANTS["restflow"]
INSTALLED_APPS = VARIANTS[os.environ.get("RESTFLOW_BENCH_STARTUP", "bare")]
if os.environ.get("RESTFLOW_BENCH_STARTUP") == "restflow_redis":
    ROOT_URLCONF = "bench_startup_urls"
    ALLOWED_HOSTS = ["127.0.0.1"]
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                             "NAME": os.environ["RESTFLOW_BENCH_STARTUP_DB"]}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["RESTFLOW_BENCH_REDIS_URL"]}}
    RESTFLOW_SETTINGS = {"JWT": {**RESTFLOW_SETTINGS["JWT"], "ACCESS_TOKEN_LIFETIME": timedelta(hours=1)}}
