"""Settings of the start-up comparison; ``RESTFLOW_BENCH_STARTUP`` picks the apps."""

from __future__ import annotations

import os

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
INSTALLED_APPS = VARIANTS[os.environ.get("RESTFLOW_BENCH_STARTUP", "bare")]
