"""The "stock" field project: what ``django-admin startproject`` writes, plus DRF and restflow.

Kept as generated: ``django.contrib.auth``'s own ``User`` (its app keeps a 32-bit
``AutoField`` id while project apps get ``BigAutoField``), the generated middleware
(sessions, CSRF, authentication), the admin. Added the way the restflow docs say:
``rest_framework``, ``restflow.authentication``, ``restflow.caching``, the token URLs and
``DEFAULT_AUTHENTICATION_CLASSES``. The database comes from ``RESTFLOW_FIELD_DB``.
"""

from __future__ import annotations

from pathlib import Path

from field_common.databases import databases

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "field-stock-insecure-secret-key-used-by-the-test-matrix-only-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "restflow.authentication",
    "restflow.caching",
    "field_common",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "field_stock.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = databases("stock")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The one deviation from the generated file: a fast hasher, so the matrix stays quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's default cache (local memory) for the cached views; the database cache table
# is declared so that the test database gets it (``createcachetable``) for the backend
# tests.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "db": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "field_cache_table",
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "restflow.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
}

RESTFLOW_SETTINGS = {
    "JWT": {
        "SIGNING_KEY": "field-stock-signing-key-" + "s" * 48,
        # A durable blacklist in the project's database (every database of the matrix).
        "BLACKLIST_BACKEND": "restflow.authentication.ModelBlacklistBackend",
    },
}
