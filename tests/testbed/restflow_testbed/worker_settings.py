"""Django settings of the broker packages' worker processes: the test bed's, plus what a
test passes through the environment.

``RESTFLOW_TEST_CACHE_URL``
    The Redis cache shared with the test process (Django's ``RedisCache``).
``RESTFLOW_TEST_SETTINGS_JSON``
    The worker's ``RESTFLOW_SETTINGS``, as JSON.

A package whose worker needs more (an app, its queues) star-imports this module.
"""

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
if os.environ.get("RESTFLOW_TEST_SETTINGS_JSON"):
    RESTFLOW_SETTINGS = json.loads(os.environ["RESTFLOW_TEST_SETTINGS_JSON"])
