"""The public surface of ``restflow.caching`` and its constants."""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys

import pytest

import restflow.caching as caching
from restflow.caching.constants import CACHE_MISSING, CacheStatus


def test_all_names_resolve() -> None:
    for name in caching.__all__:
        assert getattr(caching, name) is not None, name
    assert {"cache_result", "cache_response", "KeyConstructor", "CACHE_MISSING"} <= set(
        caching.__all__
    )
    assert "CeleryDispatcher" not in caching.__all__


def test_unknown_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError):
        caching.NotAThing  # noqa: B018


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [
        ("CeleryDispatcher", "restflow.dispatch.celery", "celery"),
        ("DjangoRqDispatcher", "restflow.dispatch.django_rq", "rq"),
        ("DramatiqDispatcher", "restflow.dispatch.dramatiq", "dramatiq"),
        ("DjangoQDispatcher", "restflow.dispatch.django_q", "django-q"),
    ],
)
def test_lazy_dispatchers(
    name: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = importlib.import_module

    def missing(target: str, *args: object) -> object:
        if target == module:
            raise ModuleNotFoundError(f"No module named {target!r}", name=target)
        return real_import(target, *args)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ImportError, match=rf'pip install "restflow-cache\[{extra}\]"'):
        getattr(caching, name)


def test_import_loads_no_broker_library() -> None:
    code = (
        "import sys, restflow.caching\n"
        "bad = [m for m in ('celery', 'rq', 'dramatiq', 'django_q', 'redis') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""


def test_constants() -> None:
    assert CacheStatus.HIT == "HIT"
    assert [m.value for m in CacheStatus] == ["HIT", "MISS"]
    assert repr(CACHE_MISSING) == "<CACHE_MISSING>"
    assert pickle.loads(pickle.dumps(CACHE_MISSING)) is CACHE_MISSING  # noqa: S301
