"""Django settings of the tests' RQ workers: the test bed's, plus what a test passes
through the environment (the Redis of the queues, the cache server, restflow's settings).
"""

from __future__ import annotations

import json
import os

from restflow_testbed.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]  # noqa: F405  (the rqworker command)

RQ_QUEUES = {
    name: {"URL": os.environ["RESTFLOW_TEST_RQ_URL"]}
    for name in os.environ.get("RESTFLOW_TEST_RQ_QUEUES", "").split(",")
    if name and os.environ.get("RESTFLOW_TEST_RQ_URL")
}
if os.environ.get("RESTFLOW_TEST_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["RESTFLOW_TEST_CACHE_URL"],
        }
    }
if os.environ.get("RESTFLOW_TEST_RESTFLOW_SETTINGS"):
    RESTFLOW_SETTINGS = json.loads(os.environ["RESTFLOW_TEST_RESTFLOW_SETTINGS"])
