"""Start and stop real ``manage.py rqworker`` processes for the tests (bounded waits)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from restflow_testbed.worker_process import WorkerProcess, worker_env

TESTS_DIR = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0


class RqWorker(WorkerProcess):
    """``python -m django rqworker`` on ``queues`` of the Redis at ``redis_url``."""

    def __init__(self, redis_url: str, queues: list[str], *,
                 restflow_settings: dict[str, Any] | None = None,
                 cache_url: str | None = None, worker_class: str | None = None,
                 verbosity: int = 2) -> None:
        self.redis_url = redis_url
        self.queues = queues
        extra = {"RESTFLOW_TEST_RQ_URL": redis_url, "RESTFLOW_TEST_RQ_QUEUES": ",".join(queues)}
        if restflow_settings is not None:
            extra["RESTFLOW_TEST_SETTINGS_JSON"] = json.dumps(restflow_settings)
        if cache_url:
            extra["RESTFLOW_TEST_CACHE_URL"] = cache_url
        cmd = [sys.executable, "-m", "django", "rqworker", *queues, "--verbosity", str(verbosity)]
        if worker_class:
            cmd += ["--worker-class", worker_class]
        env = worker_env(TESTS_DIR, DJANGO_SETTINGS_MODULE="rq_testapp.worker_settings", **extra)
        super().__init__("rqworker", cmd, env)

    def start(self) -> None:
        super().start()
        self.wait_ready(lambda: "Listening on" in self.log(), STARTUP_TIMEOUT, "'Listening on'")
