"""Start and stop real ``manage.py rqworker`` processes for the tests (bounded waits)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
        DJANGO_SETTINGS_MODULE="rq_testapp.worker_settings",
        RESTFLOW_TEST_WORKER="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class RqWorker:
    """``python -m django rqworker`` on ``queues`` of the Redis at ``redis_url``."""

    def __init__(self, redis_url: str, queues: list[str], *,
                 restflow_settings: dict[str, Any] | None = None,
                 cache_url: str | None = None, worker_class: str | None = None,
                 verbosity: int = 2) -> None:
        self.redis_url = redis_url
        self.queues = queues
        self.env = {"RESTFLOW_TEST_RQ_URL": redis_url, "RESTFLOW_TEST_RQ_QUEUES": ",".join(queues)}
        if restflow_settings is not None:
            self.env["RESTFLOW_TEST_RESTFLOW_SETTINGS"] = json.dumps(restflow_settings)
        if cache_url:
            self.env["RESTFLOW_TEST_CACHE_URL"] = cache_url
        self.worker_class = worker_class
        self.verbosity = verbosity
        fd, log = tempfile.mkstemp(prefix="restflow-rq-worker-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "django", "rqworker", *self.queues, "--verbosity", str(self.verbosity)]
        if self.worker_class:
            cmd += ["--worker-class", self.worker_class]
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=worker_env(**self.env),
                cwd=str(REPO_ROOT),
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"rqworker exited at start-up:\n{self.log()}")
            if "Listening on" in self.log():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"rqworker not ready within {STARTUP_TIMEOUT}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 30.0) -> bool:
        """Wait until ``text`` appeared ``count`` times in the worker's log."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

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
        with contextlib.suppress(OSError):
            self.log_path.unlink()
