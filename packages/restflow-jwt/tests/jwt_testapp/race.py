"""Fire many refresh requests with one refresh token at the same instant.

Used in-process (threads) and as a worker process:
``python -m jwt_testapp.race <config.json> <refresh token> <go file> <threads>``
prints the JSON list of status codes.
"""

from __future__ import annotations

import json
import os
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
        print(json.dumps(race(refresh, threads)))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
