"""Fire many refresh requests with one refresh token at the same instant.

Used in-process (threads) and as a worker process:
``python -m jwt_testapp.race <config.json> <refresh token> <threads> <go file>``
prints ``{"statuses": [...], "bodies": [...]}`` (the 200 responses' bodies) as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REFRESH = "/jwt_testapp/auth/token/refresh/"


def race(refresh: str, threads: int, before: Any = None, bodies: list[Any] | None = None) -> list[int]:
    """The status codes of ``threads`` simultaneous refreshes; ``bodies`` (when given)
    receives each 200 response's JSON body."""
    from restflow_testbed.racers import post_together

    statuses, answers = post_together(REFRESH, {"refresh": refresh}, threads, before)
    if bodies is not None:
        bodies += answers
    return statuses


def _main(config_path: str, refresh: str, threads: int, go_file: str) -> None:
    import django

    django.setup()
    from django.test.utils import override_settings
    from restflow_testbed.racers import ready_then_wait

    config = json.loads(Path(config_path).read_text())
    with override_settings(**config):
        ready_then_wait(go_file)
        bodies: list[Any] = []
        statuses = race(refresh, threads, bodies=bodies)
        print(json.dumps({"statuses": statuses, "bodies": bodies}))


def run_in_processes(
    config: dict[str, Any], refresh: str, tmp_path: Path, *, processes: int, total: int
) -> tuple[list[int], list[Any]]:
    """``total`` refreshes with ``refresh`` from ``processes`` worker processes (threads in
    each), started together under the Django settings ``config``: (statuses, 200 bodies)."""
    from restflow_testbed.racers import run_racers

    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "jwt_testapp.race", str(config_file), refresh, str(total // processes)]
    env = {"RESTFLOW_TEST_WORKER": "1"}
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "restflow_testbed.settings")
    results = run_racers([command] * processes, tmp_path, env=env)
    statuses = [status for result in results for status in result["statuses"]]
    return statuses, [body for result in results for body in result["bodies"]]


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
