"""Custom dispatchers: the two ways to write one, and the class that implements neither."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.registry import (
    get_dispatcher,
    get_dispatcher_class,
    register_dispatcher,
    registered_dispatcher_names,
    unregister_dispatcher,
)


class PublicForm(Dispatcher):
    """Overrides dispatch() itself (the form drf-restflow's documentation teaches)."""

    name: ClassVar[str] = "custom-public-form"
    jobs: ClassVar[list[tuple[list[str], dict[str, Any], dict[str, Any]]]] = []

    def dispatch(self, *, rule_ids: list[str], rule_kwargs: dict[str, Any], **context: Any) -> None:
        type(self).jobs.append((rule_ids, rule_kwargs, context))


class Neither(Dispatcher):
    name: ClassVar[str] = "custom-neither"


@pytest.fixture(autouse=True)
def _clean_registry() -> Any:
    PublicForm.jobs = []
    yield
    unregister_dispatcher(PublicForm.name)
    unregister_dispatcher(Neither.name)


def test_a_subclass_overriding_dispatch_is_registered_and_receives_the_job() -> None:
    register_dispatcher(PublicForm)
    assert get_dispatcher_class("custom-public-form") is PublicForm
    dispatcher = get_dispatcher("custom-public-form", {"queue": "q"})
    dispatcher.dispatch(rule_ids=["app.f:Book"], rule_kwargs={"app.f:Book": {"a": 1}}, using="x")
    assert PublicForm.jobs == [(["app.f:Book"], {"app.f:Book": {"a": 1}}, {"using": "x"})]
    assert dispatcher.config == {"queue": "q"}


def test_register_dispatcher_refuses_a_class_implementing_neither_method() -> None:
    with pytest.raises(TypeError) as raised:
        register_dispatcher(Neither)
    message = str(raised.value)
    assert "Neither implements neither _dispatch() nor dispatch()" in message
    assert "implement _dispatch(self, *, rule_ids, rule_kwargs, **context)" in message
    assert "custom-neither" not in registered_dispatcher_names()


def test_a_class_implementing_neither_method_cannot_be_instantiated_by_class() -> None:
    with pytest.raises(TypeError, match=r"implement _dispatch\(self"):
        get_dispatcher(Neither)
