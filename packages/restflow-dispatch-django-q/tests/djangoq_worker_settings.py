"""Settings of the test ``qcluster`` processes: the test bed's plus the cluster's.

``RESTFLOW_TEST_DJANGO_Q_REDIS`` names the Redis the cluster consumes from,
``RESTFLOW_TEST_Q_CLUSTER`` its queue (cluster name), and ``RESTFLOW_TEST_SETTINGS_JSON``
the ``RESTFLOW_SETTINGS`` it runs with.
"""

from __future__ import annotations

import json
import os

from restflow_testbed.settings import *  # noqa: F403

RESTFLOW_SETTINGS = json.loads(os.environ.get("RESTFLOW_TEST_SETTINGS_JSON") or "{}")

Q_CLUSTER = {
    # "name" salts the signature of task packages: producers and workers must agree.
    "name": "default",
    "cluster_name": os.environ.get("RESTFLOW_TEST_Q_CLUSTER", "default"),
    "redis": os.environ.get("RESTFLOW_TEST_DJANGO_Q_REDIS", "redis://127.0.0.1:1/0"),
    "workers": 1,
    "timeout": 30,
    "retry": 60,
    "max_attempts": 1,
    "save_limit": -1,  # keep failures only
    "scheduler": False,
    "catch_up": False,
    "guard_cycle": 0.2,
}

# The cache shared with the test process (cached functions of the end-to-end tests).
if os.environ.get("RESTFLOW_TEST_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["RESTFLOW_TEST_CACHE_URL"],
        }
    }
