"""The field matrix (see docs/contributing.md): fixtures of both field projects.

Collected only when pytest runs with a field project's settings (``--ds
field_stock.settings`` or ``field_custom.settings``, ``tests/field`` on the python path,
as ``python3 noxw.py -s field`` does); the main suite (``restflow_testbed.settings``)
ignores this directory. In a field run a skipped test fails the run: nothing in the
matrix may pass by not running.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

PROJECTS = {"field_stock.settings": "stock", "field_custom.settings": "custom"}
PROJECT = PROJECTS.get(os.environ.get("DJANGO_SETTINGS_MODULE", ""))

if PROJECT is None:
    collect_ignore_glob = ["*"]
else:  # modules that do not apply to this cell (not skips: they are not part of it)
    collect_ignore = ["test_stock_project.py" if PROJECT == "custom" else "test_custom_user.py"]
    if os.environ.get("RESTFLOW_FIELD_DB", "sqlite") == "sqlite":
        collect_ignore.append("test_isolation.py")


def pytest_report_header(config: pytest.Config) -> str | None:
    if PROJECT is None:
        return None
    return f"restflow field matrix: project={PROJECT} db={os.environ.get('RESTFLOW_FIELD_DB', 'sqlite')}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if PROJECT is None:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"field matrix: {len(skipped)} skipped test(s) count as failures", red=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, request: pytest.FixtureRequest
) -> None:
    """Point a MariaDB configuration at the test bed's private server (one per session)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.mysql":
        server = request.getfixturevalue("mariadb_server")
        database["HOST"] = server.host
        database["PORT"] = str(server.port)


@pytest.fixture(scope="session", autouse=True)
def _project_caches(request: pytest.FixtureRequest) -> Iterator[None]:
    """The custom project's Redis aliases on the test bed's private Redis server."""
    if PROJECT != "custom":
        yield
        return
    from django.conf import settings
    from django.test.utils import override_settings

    server = request.getfixturevalue("redis_server")
    caches = {**settings.CACHES}
    caches["default"] = {**caches["default"], "LOCATION": server.db_url(0)}
    caches["tokens"] = {**caches["tokens"], "LOCATION": server.db_url(1)}
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def _fresh_state(_project_caches: None) -> None:
    """Every test starts with empty caches (entries would outlive the flushed rows)."""
    from django.conf import settings
    from django.core.cache import caches
    from field_common.views import RENDERS

    for alias in settings.CACHES:
        if alias != "db":  # its table is created with the test database
            caches[alias].clear()
    RENDERS.clear()


@pytest.fixture
def project() -> str:
    assert PROJECT is not None
    return PROJECT


class Person:
    """A user of the project under test and the password they log in with."""

    def __init__(self, user: Any, login: str, password: str) -> None:
        self.user = user
        self.login = login
        self.password = password

    @property
    def name(self) -> str:
        return self.user.get_username()


@pytest.fixture
def make_person(project: str) -> Any:
    from django.contrib.auth import get_user_model

    model = get_user_model()

    def make(name: str, **extra: Any) -> Person:
        password = f"{name}-Secret-pass-9"
        if project == "stock":
            user = model.objects.create_user(name, f"{name}@example.com", password, **extra)
            return Person(user, name, password)
        user = model.objects.create_user(f"{name}@example.com", password, **extra)
        return Person(user, f"{name}@example.com", password)

    return make


@pytest.fixture
def alice(make_person: Any) -> Person:
    return make_person("alice")


@pytest.fixture
def bob(make_person: Any) -> Person:
    return make_person("bob")


@pytest.fixture
def api() -> Any:
    from rest_framework.test import APIClient

    return APIClient()
