"""Django settings of the tests' worker processes: the test bed's, plus what a test
passes through the environment (the cache server, restflow's settings)."""

from __future__ import annotations

import json
import os

from restflow_testbed.settings import *  # noqa: F403

if os.environ.get("RESTFLOW_TEST_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["RESTFLOW_TEST_CACHE_URL"],
        }
    }
if os.environ.get("RESTFLOW_TEST_RESTFLOW_SETTINGS"):
    RESTFLOW_SETTINGS = json.loads(os.environ["RESTFLOW_TEST_RESTFLOW_SETTINGS"])
