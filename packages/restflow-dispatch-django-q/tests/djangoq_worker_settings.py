"""Settings of the test ``qcluster`` processes: the broker workers' plus the cluster's.

``RESTFLOW_TEST_DJANGO_Q_REDIS`` names the Redis the cluster consumes from and
``RESTFLOW_TEST_Q_CLUSTER`` its queue (cluster name).
"""

from __future__ import annotations

import os

from restflow_testbed.worker_settings import *  # noqa: F403

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
