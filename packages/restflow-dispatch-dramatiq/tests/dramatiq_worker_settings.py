"""Settings of the test workers: the test bed's, plus RESTFLOW_SETTINGS from the env."""

from __future__ import annotations

import json
import os

from restflow_testbed.settings import *  # noqa: F403

RESTFLOW_SETTINGS = json.loads(os.environ.get("RESTFLOW_TEST_SETTINGS_JSON") or "{}")

# The cache shared with the test process (cached functions of the end-to-end tests).
if os.environ.get("RESTFLOW_TEST_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["RESTFLOW_TEST_CACHE_URL"],
        }
    }
