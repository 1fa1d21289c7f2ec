"""Each dispatcher distribution, installed, declares its ``restflow.dispatchers`` entry
point, and the registry builds the dispatcher from it with the rule's options."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from restflow.dispatch.registry import get_dispatcher


@pytest.mark.parametrize(
    ("name", "value", "config"),
    [
        ("celery", "restflow.dispatch.celery:CeleryDispatcher", {"queue": "q"}),
        ("django_rq", "restflow.dispatch.django_rq:DjangoRqDispatcher", {"queue": "q"}),
        ("dramatiq", "restflow.dispatch.dramatiq:DramatiqDispatcher", {"queue": "q"}),
        ("django_q", "restflow.dispatch.django_q:DjangoQDispatcher", {"cluster": "hot"}),
    ],
)
def test_entry_point_and_registry_name(name: str, value: str, config: dict[str, Any]) -> None:
    [ep] = [ep for ep in importlib.metadata.entry_points(group="restflow.dispatchers")
            if ep.name == name]
    assert ep.value == value
    dispatcher = get_dispatcher(name, config)
    assert isinstance(dispatcher, ep.load())
    assert dispatcher.config == config
