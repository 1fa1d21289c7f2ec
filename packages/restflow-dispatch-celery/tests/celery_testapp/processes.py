"""Start and stop real Celery worker processes for the tests (bounded waits only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parents[2]
TESTBED_DIR = REPO_ROOT / "tests" / "testbed"
STARTUP_TIMEOUT = 60.0


def worker_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(TESTBED_DIR), str(TESTS_DIR)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        DJANGO_SETTINGS_MODULE="celery_testapp.worker_settings",
        RESTFLOW_TEST_WORKER="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class CeleryWorker:
    """``celery worker --pool=solo`` consuming ``queues`` from ``broker_url``."""

    def __init__(self, broker_url: str, queues: list[str], *, backend_url: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.broker_url = broker_url
        self.backend_url = backend_url
        self.queues = queues
        self.extra_env = env or {}
        self.node = f"restflow-{uuid.uuid4().hex[:8]}@%h"
        fd, log = tempfile.mkstemp(prefix="restflow-celery-worker-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        extra = {"RESTFLOW_TEST_CELERY_BROKER": self.broker_url, **self.extra_env}
        if self.backend_url:
            extra["RESTFLOW_TEST_CELERY_BACKEND"] = self.backend_url
        cmd = [
            sys.executable, "-m", "celery", "-A", "celery_testapp.celery_app", "worker",
            "--pool=solo", "--concurrency=1", "-Q", ",".join(self.queues),
            "--loglevel=INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
            "-n", self.node,
        ]
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=worker_env(**extra),
                cwd=str(REPO_ROOT),
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"celery worker exited at start-up:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"celery worker not ready within {STARTUP_TIMEOUT}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        if not os.environ.get("RESTFLOW_TEST_KEEP_WORKER_LOGS"):
            with contextlib.suppress(OSError):
                self.log_path.unlink()


@contextlib.contextmanager
def running_worker(broker_url: str, queues: list[str], **kwargs: object) -> Iterator[CeleryWorker]:
    worker = CeleryWorker(broker_url, queues, **kwargs)  # type: ignore[arg-type]
    try:
        worker.start()
        yield worker
    finally:
        worker.cleanup()
