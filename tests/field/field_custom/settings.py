"""The "custom" field project: a custom user model (UUID pk, e-mail login, a filtering
default manager), the same middleware as a generated project, Redis as the cache (the
test bed's private server: tests/field/conftest.py fills in its URL) and the JWT
blacklist in Redis on its own alias.
"""

from __future__ import annotations

from field_common.databases import databases

SECRET_KEY = "field-custom-insecure-secret-key-used-by-the-test-matrix-only-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "restflow.authentication",
    "restflow.caching",
    "field_custom.people",
    "field_common",
]
AUTH_USER_MODEL = "people.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "field_custom.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

DATABASES = databases("custom")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = "redis://127.0.0.1:1"  # nothing listens: tests/field/conftest.py puts the private server here
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"{REDIS_URL}/0"},
    "tokens": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"{REDIS_URL}/1"},
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
        "SIGNING_KEY": "field-custom-signing-key-" + "c" * 48,
        "BLACKLIST_CACHE_ALIAS": "tokens",
    },
}
