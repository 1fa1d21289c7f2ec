"""``load_cache_client``: a cache alias's client library is imported at start-up (no
connection), so a fresh worker's first request does not import it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from django.test import override_settings

from restflow._cacheclients import load_cache_client

REDIS = "django.core.cache.backends.redis.RedisCache"
# Nothing listens there: loading a client must not connect.
NOWHERE = "redis://127.0.0.1:9/0"


def _loaded_after(caches: dict[str, Any], alias: str) -> dict[str, Any]:
    """In a fresh interpreter: the result of ``load_cache_client(alias)`` and which
    client modules were imported before and after it."""
    code = textwrap.dedent(f"""
        import json, sys
        from django.conf import settings
        settings.configure(CACHES={caches!r})
        from restflow._cacheclients import load_cache_client
        watched = ("redis", "django_redis.client.default")
        before = [m for m in watched if m in sys.modules]
        result = load_cache_client({alias!r})
        print(json.dumps({{"result": result, "before": before,
                          "after": [m for m in watched if m in sys.modules]}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_djangos_redis_cache_imports_redis_py() -> None:
    state = _loaded_after({"default": {"BACKEND": REDIS, "LOCATION": NOWHERE}}, "default")
    assert state == {"result": True, "before": [], "after": ["redis"]}


def test_django_redis_imports_its_client_class() -> None:
    pytest.importorskip("django_redis")
    caches = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": NOWHERE}}
    state = _loaded_after(caches, "default")
    assert state == {"result": True, "before": [],
                     "after": ["redis", "django_redis.client.default"]}


def test_local_memory_imports_no_client() -> None:
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "other": {"BACKEND": REDIS, "LOCATION": NOWHERE}}
    assert _loaded_after(caches, "default") == {"result": True, "before": [], "after": []}


def test_an_unknown_alias_is_not_an_error() -> None:
    assert load_cache_client("no-such-alias") is False


def test_a_backend_that_cannot_be_imported_is_left_to_its_first_use(caplog) -> None:
    broken = {"default": {"BACKEND": "no_such_package.Cache"}}
    with override_settings(CACHES=broken), caplog.at_level(logging.DEBUG, "restflow.startup"):
        assert load_cache_client("default") is False
    assert "Could not load the client of cache 'default'" in caplog.text
