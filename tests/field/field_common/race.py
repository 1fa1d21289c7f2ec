"""Processes racing one refresh token through the field project's own token URL.

A worker is a fresh interpreter on the cell's settings module (``DJANGO_SETTINGS_MODULE``
and ``RESTFLOW_FIELD_DB`` inherited), pointed at the test run's database and caches:

``python -m field_common.race <config.json> <refresh token> <threads> <go file>``

``config.json`` holds ``DATABASE`` (keys replacing those of ``DATABASES["default"]``:
the test database's name, the private MariaDB's port), ``CACHES`` and
``RESTFLOW_SETTINGS``, applied before ``django.setup()``. Started together by the test
bed (``restflow_testbed.racers``), each worker fires its threads at once and prints
``{"statuses": [...], "bodies": [...]}`` (the 200 responses' bodies).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REFRESH = "/auth/token/refresh/"


def _configure(config: dict[str, Any]) -> None:
    from django.conf import settings

    settings.DATABASES["default"].update(config["DATABASE"])
    settings.CACHES = config["CACHES"]
    settings.RESTFLOW_SETTINGS = config["RESTFLOW_SETTINGS"]


def _main(config_path: str, refresh: str, threads: int, go_file: str) -> None:
    _configure(json.loads(Path(config_path).read_text()))
    import django

    django.setup()
    from restflow_testbed.racers import post_together, ready_then_wait

    ready_then_wait(go_file)
    statuses, bodies = post_together(REFRESH, {"refresh": refresh}, threads)
    print(json.dumps({"statuses": statuses, "bodies": bodies}))


def race_in_processes(
    config: dict[str, Any], refresh: str, workdir: Path, *, processes: int, total: int
) -> tuple[list[int], list[Any], str]:
    """``total`` refreshes with ``refresh`` from ``processes`` worker processes started
    together: (every status, the 200 bodies, what the workers logged)."""
    from restflow_testbed.racers import run_racers

    config_file = workdir / "config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "field_common.race", str(config_file), refresh, str(total // processes)]
    results = run_racers([command] * processes, workdir)
    statuses = [status for result in results for status in result["statuses"]]
    logged = "".join(result["stderr"] for result in results)
    return statuses, [body for result in results for body in result["bodies"]], logged


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
