"""Start and stop real Celery worker processes for the tests (bounded waits only)."""

from __future__ import annotations

import signal
import sys
import uuid
from pathlib import Path

from restflow_testbed.worker_process import WorkerProcess, worker_env

TESTS_DIR = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0


class CeleryWorker(WorkerProcess):
    """``celery worker --pool=solo`` consuming ``queues`` from ``broker_url``."""

    # Stopped only when a test is over. Celery runs its (cold) shutdown steps in the signal
    # handler but, on RabbitMQ with no timers, only leaves its event loop when the ~10 s
    # poll returns: once the steps ran, the rest of the wait is cut short.
    stop_signal = signal.SIGQUIT
    stop_grace = 2.0

    def __init__(self, broker_url: str, queues: list[str], *, backend_url: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.broker_url = broker_url
        self.queues = queues
        extra = {"RESTFLOW_TEST_CELERY_BROKER": broker_url, **(env or {})}
        if backend_url:
            extra["RESTFLOW_TEST_CELERY_BACKEND"] = backend_url
        cmd = [
            sys.executable, "-m", "celery", "-A", "celery_testapp.celery_app", "worker",
            "--pool=solo", "--concurrency=1", "-Q", ",".join(queues),
            "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
            "-n", f"restflow-{uuid.uuid4().hex[:8]}@%h",
        ]
        env_vars = worker_env(TESTS_DIR, DJANGO_SETTINGS_MODULE="restflow_testbed.worker_settings",
                              **extra)
        super().__init__("celery-worker", cmd, env_vars)

    def start(self) -> None:
        super().start()
        self.wait_ready(lambda: " ready." in self.log(), STARTUP_TIMEOUT, "ready line")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

