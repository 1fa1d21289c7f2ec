"""Helpers shared by the test modules (imported by name: keep this module name unique)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from restflow_testbed.worker_process import WorkerProcess, worker_env

TESTS_DIR = Path(__file__).resolve().parent


@contextlib.contextmanager
def use_broker(broker: Any) -> Iterator[Any]:
    """Make ``broker`` the global Dramatiq broker for the block."""
    import dramatiq
    import dramatiq.broker

    previous = dramatiq.broker.global_broker
    dramatiq.set_broker(broker)
    try:
        yield broker
    finally:
        dramatiq.broker.global_broker = previous



def dramatiq_worker_process(name: str, broker_url: str, cache_url: str, queues: list[str],
                    settings: dict[str, Any] | None = None) -> WorkerProcess:
    """A ``dramatiq`` worker (1 process, 1 thread) on ``queues``, not started yet.

    It opens the test database and uses the Redis cache at ``cache_url``; ``settings``
    are its ``RESTFLOW_SETTINGS``.
    """
    env = worker_env(TESTS_DIR,
        RESTFLOW_TEST_DRAMATIQ_URL=broker_url,
        RESTFLOW_TEST_CACHE_URL=cache_url,
        DJANGO_SETTINGS_MODULE="restflow_testbed.worker_settings",
        RESTFLOW_TEST_SETTINGS_JSON=json.dumps(settings or {}),
    )
    cmd = [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "1",
           "--queues", *queues, "--", "dramatiq_test_worker"]
    return WorkerProcess(name, cmd, env)
