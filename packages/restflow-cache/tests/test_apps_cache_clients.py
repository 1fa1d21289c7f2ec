"""``django.setup()`` with restflow.caching imports the client library of every configured
cache (not at the first request that reads an entry), and opens no connection."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SETUP = """
import sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "restflow.caching"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    CACHES={caches},
)
django.setup()
print("redis" in sys.modules)
"""
LOCMEM = '{"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}'


def _redis_loaded(caches: str) -> bool:
    code = textwrap.dedent(SETUP.format(caches=caches))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1] == "True"


def test_a_redis_cache_has_its_client_library_loaded_by_setup() -> None:
    # Port 9 (discard) has no Redis: setup imports, it does not connect.
    caches = ('{"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, '
              '"responses": {"BACKEND": "django.core.cache.backends.redis.RedisCache", '
              '"LOCATION": "redis://127.0.0.1:9/0"}}')
    assert _redis_loaded(caches) is True


def test_local_memory_alone_loads_no_client_library() -> None:
    assert _redis_loaded(LOCMEM) is False
