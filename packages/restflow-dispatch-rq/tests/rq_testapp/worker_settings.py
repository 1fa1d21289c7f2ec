"""Django settings of the tests' RQ workers: the broker workers' (the shared cache,
restflow's settings), plus the ``rqworker`` command and the queues a test passes through
the environment (``RESTFLOW_TEST_RQ_URL``, ``RESTFLOW_TEST_RQ_QUEUES``).
"""

from __future__ import annotations

import os

from restflow_testbed.worker_settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq"]  # noqa: F405  (the rqworker command)

RQ_QUEUES = {
    name: {"URL": os.environ["RESTFLOW_TEST_RQ_URL"]}
    for name in os.environ.get("RESTFLOW_TEST_RQ_QUEUES", "").split(",")
    if name and os.environ.get("RESTFLOW_TEST_RQ_URL")
}
