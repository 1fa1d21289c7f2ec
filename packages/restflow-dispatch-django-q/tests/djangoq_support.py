"""Helpers shared by the test modules (imported by name: keep this module name unique)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from restflow_testbed.worker_process import WorkerProcess, worker_env

TESTS_DIR = Path(__file__).resolve().parent

#: The queue (cluster name) of the qcluster whose settings make worker errors raise.
RAISING_CLUSTER = "restflow-raise"


@contextlib.contextmanager
def django_q_redis(url: str) -> Iterator[None]:
    """Point django-q's Redis configuration at ``url`` for the block.

    django-q2 reads ``Q_CLUSTER`` once, at import; this is what ``Q_CLUSTER["redis"] = url``
    would have given.
    """
    from django_q.conf import Conf

    with mock.patch.object(Conf, "REDIS", url):
        yield



def qcluster_process(name: str, broker_url: str, cache_url: str, cluster: str | None,
                    settings: dict[str, Any] | None = None) -> WorkerProcess:
    """A ``python -m django qcluster`` (1 worker) on ``cluster``, not started yet.

    It opens the test database and uses the Redis cache at ``cache_url``; ``settings``
    are its ``RESTFLOW_SETTINGS``.
    """
    env = worker_env(TESTS_DIR,
        DJANGO_SETTINGS_MODULE="djangoq_worker_settings",
        RESTFLOW_TEST_CACHE_URL=cache_url,
        RESTFLOW_TEST_DJANGO_Q_REDIS=broker_url,
        RESTFLOW_TEST_Q_CLUSTER=cluster or "default",
        RESTFLOW_TEST_SETTINGS_JSON=json.dumps(settings or {}),
    )
    return WorkerProcess(name, [sys.executable, "-m", "django", "qcluster"], env)
