from __future__ import annotations

import subprocess
import sys
from typing import Any, ClassVar

import pytest

from restflow.dispatch.asyncio import AsyncIODispatcher
from restflow.dispatch.base import Dispatcher
from restflow.dispatch.inline import InlineDispatcher
from restflow.dispatch.registry import (
    DispatcherNotFoundError,
    get_dispatcher,
    get_dispatcher_class,
    register_dispatcher,
    registered_dispatcher_names,
    unregister_dispatcher,
)
from restflow.dispatch.threadpool import ThreadPoolDispatcher


class Outbox(Dispatcher):
    name: ClassVar[str] = "outbox"

    def _dispatch(self, **kwargs: Any) -> None:
        pass


def test_brokerless_dispatchers_are_registered_through_entry_points() -> None:
    names = registered_dispatcher_names()
    assert names == sorted(names)
    assert {"inline", "threadpool", "asyncio"} <= set(names)
    assert get_dispatcher_class("inline") is InlineDispatcher
    assert get_dispatcher_class("threadpool") is ThreadPoolDispatcher
    assert get_dispatcher_class("asyncio") is AsyncIODispatcher


def test_lookup_by_name_returns_a_configured_instance() -> None:
    dispatcher = get_dispatcher("threadpool", {"max_workers": 2})
    assert isinstance(dispatcher, ThreadPoolDispatcher)
    assert dispatcher.config == {"max_workers": 2}


class Unregistered(Dispatcher):
    name: ClassVar[str] = "never-registered-anywhere"

    def _dispatch(self, **kwargs: Any) -> None:
        pass


def test_lookup_by_class_needs_no_registration() -> None:
    dispatcher = get_dispatcher(Unregistered, {"url": "x"})
    assert isinstance(dispatcher, Unregistered)
    assert dispatcher.config == {"url": "x"}
    assert Unregistered.name not in registered_dispatcher_names()


def test_register_dispatcher_as_decorator() -> None:
    unregister_dispatcher("outbox")  # a docs example may have registered its own
    assert register_dispatcher(Outbox) is Outbox
    assert "outbox" in registered_dispatcher_names()
    assert isinstance(get_dispatcher("outbox"), Outbox)
    assert unregister_dispatcher("outbox") is Outbox
    assert unregister_dispatcher("outbox") is None


def test_explicit_registration_wins_over_an_entry_point_of_the_same_name() -> None:
    class MyInline(InlineDispatcher):
        pass

    register_dispatcher(MyInline)
    assert get_dispatcher_class("inline") is MyInline
    unregister_dispatcher("inline")
    assert get_dispatcher_class("inline") is InlineDispatcher


@pytest.mark.parametrize("bad", [object, 123, "inline", Dispatcher.__subclasses__])
def test_registering_something_that_is_not_a_dispatcher_class_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="not a subclass"):
        register_dispatcher(bad)


def test_registering_a_dispatcher_without_a_name_is_a_value_error() -> None:
    class Nameless(Dispatcher):
        def _dispatch(self, **kwargs: Any) -> None:
            pass

    with pytest.raises(ValueError, match="non-empty class attribute 'name'"):
        register_dispatcher(Nameless)


def test_unknown_name_lists_what_is_registered() -> None:
    with pytest.raises(DispatcherNotFoundError) as info:
        get_dispatcher("carrier-pigeon")
    message = str(info.value)
    assert "'carrier-pigeon'" in message
    assert "inline, " in message
    assert "threadpool" in message
    assert isinstance(info.value, KeyError)


@pytest.mark.parametrize(
    ("name", "dist"),
    [
        ("celery", "restflow-dispatch-celery"),
        ("django_rq", "restflow-dispatch-rq"),
        ("dramatiq", "restflow-dispatch-dramatiq"),
        ("django_q", "restflow-dispatch-django-q"),
    ],
)
def test_a_missing_plugin_names_the_wheel_to_install(name: str, dist: str) -> None:
    if name in registered_dispatcher_names():
        pytest.skip(f"{dist} is installed in this environment")
    with pytest.raises(DispatcherNotFoundError, match=f"pip install {dist}"):
        get_dispatcher(name)


@pytest.mark.parametrize("spec", [123, None, InlineDispatcher(), object])
def test_a_spec_that_is_neither_name_nor_class_is_a_type_error(spec: Any) -> None:
    with pytest.raises(TypeError):
        get_dispatcher(spec)


def test_entry_points_are_not_loaded_at_import_nor_at_django_setup() -> None:
    code = """
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.contenttypes"])
import restflow.settings
from restflow.dispatch import registry
django.setup()
assert registry._loaded is False, "loaded too early"
registry.registered_dispatcher_names()
assert registry._loaded is True
print("lazy")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lazy"
