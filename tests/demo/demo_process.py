"""The demo project in a process of its own: its environment, and a body of code run on a
Django test database.

The scripts here (``asgi_summary.py``, ``demo_jobs.py``) are started by the tests with
:func:`run_script`, in the demo's settings (``DJANGO_SETTINGS_MODULE=catalogue_project.settings``,
``docs/example`` on the path). Each calls :func:`run_seeded`: Django's test environment
and a test database, created, migrated and seeded by ``seed_catalogue``, then the body,
then the database dropped. They print JSON lines for the test to read.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "example"
SCRIPT_TIMEOUT = 120  # a bound for a loaded machine, not an expectation


def demo_environment(state: Path) -> dict[str, str]:
    """The environment demo.py gives its processes (local memory, inline invalidation)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "catalogue_project.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "RESTFLOW_DEMO_DB": str(state / "catalogue.sqlite3"),
        "RESTFLOW_DEMO_SECRET_KEY": secrets.token_urlsafe(50),
        "RESTFLOW_DEMO_REDIS": "",
        "RESTFLOW_DEMO_BROKER": "",
    }


def run_script(name: str, state: Path, prefix: str) -> list[dict[str, Any]]:
    """Run the script ``name`` of this directory; its output lines that start with
    ``prefix``, parsed as JSON."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(name))],
        env=demo_environment(state),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith(prefix)]


def run_seeded(body: Callable[[], None]) -> None:
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()  # ALLOWED_HOSTS gets the client's "testserver"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        call_command("seed_catalogue", stdout=io.StringIO())  # stdout carries the answers
        body()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
