"""``django.setup()`` with restflow.authentication imports the client library of the
blacklist's cache (redis-py), not the first authenticated request; PyJWT still waits for
the first token (redis-py itself may import cryptography)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SETUP = """
import json, sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                    "restflow.authentication"],
    CACHES={{"default": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            "blacklist": {{"BACKEND": "django.core.cache.backends.redis.RedisCache",
                           "LOCATION": "redis://127.0.0.1:9/0"}}}},
    RESTFLOW_SETTINGS={settings},
)
django.setup()
print(json.dumps([m for m in ("redis", "jwt") if m in sys.modules]))
"""


def _loaded(restflow_settings: dict[str, object]) -> list[str]:
    code = textwrap.dedent(SETUP.format(settings=repr(restflow_settings)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_blacklist_cache_client_is_loaded_by_setup() -> None:
    assert _loaded({"JWT": {"BLACKLIST_CACHE_ALIAS": "blacklist"}}) == ["redis"]


def test_a_blacklist_on_local_memory_loads_no_client() -> None:
    assert _loaded({"JWT": {"BLACKLIST_CACHE_ALIAS": "default"}}) == []


def test_broken_settings_still_let_django_start() -> None:
    # Reported by the system checks and the first request, as before.
    assert _loaded({"JWT": {"BLACKLIST_CACHE_ALIAS": "missing"}}) == []
