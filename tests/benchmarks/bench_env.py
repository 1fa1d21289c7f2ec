"""Per-process set-up shared by the comparison modules: Django, database, caches."""

from __future__ import annotations

import os
from typing import Any

LOCMEM = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "bench-locmem",
    "OPTIONS": {"MAX_ENTRIES": 1_000_000},
}
BACKENDS = ("locmem", "redis", "django_redis")


def redis_url(db: int = 0) -> str:
    return f"{os.environ['RESTFLOW_BENCH_REDIS_URL'].rstrip('/')}/{db}"


def cache_config(backend: str, db: int = 0) -> dict[str, Any]:
    """A ``CACHES["default"]`` entry: local memory, Django's RedisCache or django-redis."""
    if backend == "locmem":
        return dict(LOCMEM)
    if backend == "redis":
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url(db)}
    if backend == "django_redis":
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url(db),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    raise ValueError(f"unknown backend {backend!r}")


def caches_for(backend: str) -> dict[str, dict[str, Any]]:
    return {"default": cache_config(backend)}


def setup_django() -> None:
    """``django.setup()`` and a migrated database (SQLite file of this process, or PG)."""
    import django
    from django.core.management import call_command

    django.setup()
    _create_postgres_database()
    call_command("migrate", verbosity=0, interactive=False)


def _create_postgres_database() -> None:
    """Create the PostgreSQL database named by ``DATABASE_URL`` when it does not exist."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    import psycopg

    settings_dict = connection.settings_dict
    params: dict[str, Any] = {
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
        "user": settings_dict["USER"] or None,
        "password": settings_dict["PASSWORD"] or None,
    }
    name = settings_dict["NAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if found is None:
            admin.execute(f'CREATE DATABASE "{name}"')


def bench_user() -> Any:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"email": "bench@example.com", "is_active": True}
    )
    return user


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(redis_url(0))
    client.flushall()
    client.close()
