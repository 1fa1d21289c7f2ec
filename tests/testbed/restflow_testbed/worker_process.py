"""Start and stop a real worker process for the tests (bounded waits, always stopped).

Shared by the broker packages' tests (celery, django-rq, dramatiq, django-q2).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from restflow_testbed.discovery import REPO_ROOT

#: Deadline (seconds) of a wait for a worker's effect: a bound, never a measurement.
WAIT = 30.0


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def worker_env(tests_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker: the test bed and ``tests_dir`` importable."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT / "tests" / "testbed"), str(tests_dir)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        DJANGO_SETTINGS_MODULE="restflow_testbed.settings",
        RESTFLOW_TEST_WORKER="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


_W = TypeVar("_W", bound="WorkerProcess")


class WorkerProcess:
    """A worker command run in its own process group, its output kept in a log file.

    As a context manager it is stopped on leaving the block, however the block ends
    (starting it stays the block's job: ``start()`` or ``start_until_first_job``).
    """

    def __init__(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.cmd = cmd
        self.env = env
        self.log_path = Path(tempfile.gettempdir()) / f"restflow-{name}-{uuid.uuid4().hex[:8]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    #: What ``stop()`` sends the main process first, and how long it waits before SIGKILL.
    stop_signal: signal.Signals = signal.SIGTERM
    stop_grace: float = 15.0

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                cwd=str(REPO_ROOT), start_new_session=True,
            )

    def log(self) -> str:
        """Everything the worker printed so far."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def log_tail(self, lines: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def wait_for_log(self, text: str, count: int = 1, timeout: float = WAIT) -> bool:
        """Whether ``text`` appeared ``count`` times in the log within ``timeout`` seconds."""
        return wait_until(lambda: self.log().count(text) >= count, timeout)

    def wait_ready(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before {what}:\n"
                    f"{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name}: no {what} within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float | None = None) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # SIGTERM to the worker's main process only: it stops its own children in
            # order (a django-q2 cluster whose children are signalled too never finishes
            # stopping); whatever is left of its process group is killed afterwards.
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=self.stop_grace if timeout is None else timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15.0)
        if not os.environ.get("RESTFLOW_TEST_KEEP_WORKER_LOGS"):
            with contextlib.suppress(OSError):
                self.log_path.unlink()


def start_until_first_job(worker: WorkerProcess, journal: Any,
                          send: Callable[[list[str], dict[str, Any]], None],
                          timeout: float = 60.0) -> None:
    """Start ``worker``; it is ready once it ran a job ``send`` hands to it.

    ``journal`` is the conformance kit's :class:`~restflow.dispatch.testing.Journal`; the
    job goes to its recorder (``send(rule_ids, rule_kwargs)`` publishes it).
    """
    token = uuid.uuid4().hex
    rule_id = f"tests.{worker.name}.ready#{token}#0"
    worker.start()
    send([rule_id], {rule_id: {}})
    worker.wait_ready(lambda: bool(journal.jobs(token)), timeout, "first job")
