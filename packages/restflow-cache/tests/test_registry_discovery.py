"""Auto-discovery imports local apps' modules; clear() resets the registry."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invalidation_testapp import cached
from invalidation_testapp.models import Author, Book

from restflow.caching import InvalidationRule, cache_result
from restflow.caching._discovery import import_app_modules
from restflow.caching.registry import CacheRegister


def make_package(root: Path, name: str, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def fake_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    make_package(tmp_path, "rf_fake_app", {
        "__init__.py": "",
        "services.py": "LOADED = True\n",
        "broken.py": "raise ValueError('boom at import')\n",
        "needs_extra.py": "import rf_no_such_dependency\n",
        "sub/__init__.py": "",
        "sub/deep.py": "LOADED = True\n",
        "migrations/__init__.py": "",
        "migrations/0001_initial.py": "raise AssertionError('migrations must not be imported')\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("rf_fake_app")
    for name in [n for n in sys.modules if n.startswith("rf_fake_app")]:
        del sys.modules[name]


def test_discovery_imports_submodules_recursively_but_not_migrations(fake_app, caplog):
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        import_app_modules([fake_app])
    assert sys.modules["rf_fake_app.services"].LOADED
    assert sys.modules["rf_fake_app.sub.deep"].LOADED
    assert "rf_fake_app.migrations.0001_initial" not in sys.modules
    assert "rf_fake_app.needs_extra" not in sys.modules  # ImportError: silent
    failures = [r for r in caplog.records if "failed to import" in r.getMessage()]
    assert len(failures) == 1
    assert "rf_fake_app.broken" in failures[0].getMessage()


def test_discovery_skips_plain_modules_and_third_party_apps(tmp_path, monkeypatch):
    (tmp_path / "rf_plain_app.py").write_text("")
    site = tmp_path / "site-packages"
    make_package(site, "rf_installed_app", {"__init__.py": "", "loud.py": "LOADED = True\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(site))
    try:
        import_app_modules([importlib.import_module("rf_plain_app"),
                            importlib.import_module("rf_installed_app")])
        assert "rf_installed_app.loud" not in sys.modules
    finally:
        for name in ("rf_plain_app", "rf_installed_app"):
            sys.modules.pop(name, None)


def test_discovery_skips_restflows_own_apps_even_when_installed_editable(monkeypatch):
    imported: list[str] = []
    monkeypatch.setattr("restflow.caching._discovery._import_quietly", imported.append)
    import_app_modules([importlib.import_module("restflow.caching")])
    assert imported == []


def test_discovery_found_the_test_apps_rules():
    assert "invalidation_testapp.cached" in sys.modules
    assert CacheRegister.get_rule(
        "invalidation_testapp.cached.titles_of_author#invalidation_testapp.Book#0"
    ) is not None


@pytest.fixture
def cleared_registry() -> Iterator[None]:
    """Clear the process-wide registry for one test and put everything back after."""
    saved = CacheRegister.rules()
    CacheRegister.clear()
    yield
    CacheRegister.clear()
    for rule in saved:  # in registration order, so every rule gets its id back
        CacheRegister.add(rule.model, rule.func, rule.spec)
    CacheRegister.auto_discover()
    assert [rule.id for rule in CacheRegister.rules()] == [rule.id for rule in saved]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("cleared_registry")
def test_clear_disconnects_and_queues_until_discovery():
    assert CacheRegister.get_status() == {
        "name": "default", "discovered": False, "pending": 0, "models": {}}
    Author.objects.create(name="Ann")
    assert cached.author_names() == ["Ann"]
    Author.objects.update(name="Anna")
    author = Author.objects.get()
    author.name = "Annie"
    author.save()
    assert cached.author_names() == ["Ann"], "a receiver survived clear()"

    @cache_result()
    def queued() -> int:
        return 1

    rule_id = CacheRegister.add(Book, queued, InvalidationRule(model=Book))
    assert CacheRegister.pending_count == 1
    assert CacheRegister.get_rule(rule_id) is None
    CacheRegister.auto_discover()
    assert CacheRegister.pending_count == 0
    assert CacheRegister.get_rule(rule_id) is not None
    assert CacheRegister.rules_for(Book) == (CacheRegister.get_rule(rule_id),)
    from django.db.models import signals

    assert signals.post_save.has_listeners(Book)


@pytest.mark.usefixtures("cleared_registry")
def test_rules_inactive_warning_is_logged_once(caplog):
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        CacheRegister.warn_if_inactive()
        CacheRegister.warn_if_inactive()
    inactive = [r for r in caplog.records if "inactive" in r.getMessage()]
    assert len(inactive) == 1
    assert "INSTALLED_APPS" in inactive[0].getMessage()


def test_no_inactive_warning_once_discovered(caplog):
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        CacheRegister.warn_if_inactive()
    assert not caplog.records


INACTIVE_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(name)s %(message)s")
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
django.setup()
from django.contrib.auth.models import Group
from django.core.signals import request_started
from restflow.caching import InvalidationRule, cache_result

@cache_result(invalidates_on=[InvalidationRule(model=Group)])
def group_count():
    return 0

request_started.send(sender=None)
request_started.send(sender=None)
"""


def test_rules_without_the_app_installed_warn_on_the_first_request():
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", INACTIVE_SCRIPT], capture_output=True, text=True, timeout=120,
        check=True,
    )
    lines = [line for line in done.stdout.splitlines() if "inactive" in line]
    assert len(lines) == 1
    assert lines[0].startswith("restflow.caching.registry ")
    assert "INSTALLED_APPS" in lines[0]
