"""Django start-up with restflow.caching imports no broker library."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SETUP = """
import json, sys
{before}
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "restflow.caching"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
)
django.setup()
import restflow.caching.tasks as tasks
from restflow.dispatch import registry
print(json.dumps({{
    "brokers": sorted(m for m in ("celery", "dramatiq", "django_q", "rq") if m in sys.modules),
    "plugins_loaded": registry._loaded,
    "task_type": type(tasks.task_run_cache_rules).__name__,
    "task_name": getattr(tasks.task_run_cache_rules, "name", None),
}}))
"""


def _start(before: str = "") -> dict[str, object]:
    code = textwrap.dedent(SETUP.format(before=before))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_django_setup_imports_no_broker_and_loads_no_plugin() -> None:
    state = _start()
    assert state["brokers"] == []
    assert state["plugins_loaded"] is False
    assert state["task_type"] == "function"


def test_with_celery_loaded_first_the_task_is_celerys_shared_task() -> None:
    pytest.importorskip("restflow.dispatch.celery.tasks", reason="needs restflow-dispatch-celery")
    state = _start(before="import celery")
    assert state["task_name"] == "restflow.caching.tasks.task_run_cache_rules"
    assert state["task_type"] != "function"
