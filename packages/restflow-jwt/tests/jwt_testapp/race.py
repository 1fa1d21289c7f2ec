"""Fire many refresh requests with one refresh token at the same instant.

Used in-process (threads) and as a worker process:
``python -m jwt_testapp.race <config.json> <refresh token> <go file> <threads>``
prints ``{"statuses": [...], "bodies": [...]}`` (the 200 responses' bodies) as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REFRESH = "/jwt_testapp/auth/token/refresh/"


def race(refresh: str, threads: int, before: Any = None, bodies: list[Any] | None = None) -> list[int]:
    """The status codes of ``threads`` simultaneous refreshes; ``bodies`` (when given)
    receives each 200 response's JSON body."""
    from django.db import connections
    from django.test import Client

    barrier = threading.Barrier(threads)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        client = Client()
        try:
            barrier.wait(timeout=30)
            response = client.post(REFRESH, {"refresh": refresh}, content_type="application/json")
            with lock:
                statuses.append(response.status_code)
                if bodies is not None and response.status_code == 200:
                    bodies.append(response.json())
        finally:
            connections.close_all()

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    if before is not None:
        before()
    for worker in workers:
        worker.join(timeout=60)
    return statuses


def _main(config_path: str, refresh: str, go_file: str, threads: int) -> None:
    import django

    django.setup()
    from django.test.utils import override_settings

    config = json.loads(Path(config_path).read_text())
    with override_settings(**config):
        Path(f"{go_file}.ready.{os.getpid()}").touch()
        deadline = time.monotonic() + 30
        while not os.path.exists(go_file) and time.monotonic() < deadline:
            time.sleep(0.005)
        bodies: list[Any] = []
        statuses = race(refresh, threads, bodies=bodies)
        print(json.dumps({"statuses": statuses, "bodies": bodies}))


def run_in_processes(
    config: dict[str, Any], refresh: str, tmp_path: Path, *, processes: int, total: int
) -> tuple[list[int], list[Any]]:
    """``total`` refreshes with ``refresh`` from ``processes`` worker processes (threads in
    each), started together under the Django settings ``config``: (statuses, 200 bodies)."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    go = tmp_path / "go"
    env = {
        **os.environ,
        "RESTFLOW_TEST_WORKER": "1",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    env.setdefault("DJANGO_SETTINGS_MODULE", "restflow_testbed.settings")
    per_process = total // processes
    command = [sys.executable, "-m", "jwt_testapp.race", str(config_file), refresh, str(go)]
    workers = [
        subprocess.Popen(
            [*command, str(per_process)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(processes)
    ]
    statuses: list[int] = []
    bodies: list[Any] = []
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("go.ready.*"))) < processes and time.monotonic() < deadline:
            assert all(worker.poll() is None for worker in workers), "a worker died"
            time.sleep(0.01)
        go.touch()  # all workers are set up: start together
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err.decode()[-3000:]
            result = json.loads(out.decode().strip().splitlines()[-1])
            statuses += result["statuses"]
            bodies += result["bodies"]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
    return statuses, bodies


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
