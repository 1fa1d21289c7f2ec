"""Worker processes that start a race together: each gets ready, waits for the signal,
does its part, and prints one JSON line; and threads of one process that send their
requests at the same instant (:func:`post_together`).

The parent (:func:`run_racers`) starts the commands with the go file's path appended,
waits until every worker touched ``<go>.ready.<pid>`` (set up: Django loaded, settings
applied), touches ``<go>`` and collects each worker's last output line. A worker calls
:func:`ready_then_wait` once set up. Used by the refresh-token races of restflow-jwt's
tests and of the field matrix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["post_together", "ready_then_wait", "run_racers"]

#: Bounds of the waits (seconds), never measurements: starting every worker, one worker's run.
START_TIMEOUT = 120.0
RUN_TIMEOUT = 180.0


def ready_then_wait(go_file: str) -> None:
    """In a worker: report ready, then return when the parent says go."""
    Path(f"{go_file}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + START_TIMEOUT
    while not os.path.exists(go_file) and time.monotonic() < deadline:
        time.sleep(0.005)


def run_racers(
    commands: list[list[str]], workdir: Path, env: dict[str, str] | None = None
) -> list[Any]:
    """Run ``commands`` (each gets ``<workdir>/go`` appended) as workers started together;
    the JSON value each printed last, in order (an object also gets the worker's
    ``stderr`` tail, for failure messages). The interpreter's ``sys.path`` is the
    workers' ``PYTHONPATH``; a worker that dies or fails fails the caller with its stderr."""
    go = workdir / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **(env or {})}
    workers = [
        subprocess.Popen([*command, str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for command in commands
    ]
    results: list[Any] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(list(workdir.glob("go.ready.*"))) < len(workers):
            died = [worker for worker in workers if worker.poll() is not None]
            assert not died, died[0].communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the workers did not get ready"
            time.sleep(0.01)
        go.touch()
        for worker in workers:
            out, err = worker.communicate(timeout=RUN_TIMEOUT)
            assert worker.returncode == 0, err.decode()[-3000:]
            result = json.loads(out.decode().strip().splitlines()[-1])
            if isinstance(result, dict):  # what the worker logged, for failure messages
                result.setdefault("stderr", err.decode(errors="replace")[-2000:])
            results.append(result)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    return results


def post_together(
    path: str, data: dict[str, Any], threads: int, before: Callable[[], None] | None = None
) -> tuple[list[int], list[Any]]:
    """``threads`` JSON POSTs of ``data`` to ``path`` through Django's test client, released
    at once by a barrier (``before`` runs once they are started): every status, and the
    JSON body of each 200. Each thread closes its database connections."""
    from django.db import connections
    from django.test import Client

    barrier = threading.Barrier(threads)
    statuses: list[int] = []
    bodies: list[Any] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait(timeout=60)
            response = Client().post(path, data, content_type="application/json")
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200:
                    bodies.append(response.json())
        finally:
            connections.close_all()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    if before is not None:
        before()
    for worker in workers:
        worker.join(timeout=RUN_TIMEOUT)
    return statuses, bodies
