"""Cached functions with invalidation rules (imported by restflow's auto-discovery).

``rules_functions[n]`` holds the ``n`` functions whose rules watch ``RulesNRow``;
``broker_functions[name]`` the function whose rule goes through broker ``name``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench_app.models import (
    CeleryRow,
    DjangoQRow,
    DramatiqRow,
    RqRow,
    Rules1Row,
    Rules10Row,
    Rules100Row,
)
from restflow.caching import ArgsKeyField, InvalidationRule, cache_result

BY_GROUP = {"fields": {"group": ArgsKeyField("group_id", partition=True)}}


def _cached(name: str, model: type, **rule: Any) -> Any:
    def body(group_id: int) -> str:
        return f"{name}:{group_id}"

    body.__name__ = body.__qualname__ = name
    return cache_result(
        key_constructor=BY_GROUP,
        ttl=600,
        invalidates_on=[InvalidationRule(model=model, field_mapping={"group_id": "group_id"}, **rule)],
    )(body)


rules_functions: dict[int, list[Callable[..., Any]]] = {
    n: [_cached(f"rules{n}_{i}", model, dispatcher="inline") for i in range(n)]
    for n, model in ((1, Rules1Row), (10, Rules10Row), (100, Rules100Row))
}

broker_functions: dict[str, Callable[..., Any]] = {
    name: _cached(f"broker_{name}", model, dispatcher=name)
    for name, model in (
        ("celery", CeleryRow),
        ("django_rq", RqRow),
        ("dramatiq", DramatiqRow),
        ("django_q", DjangoQRow),
    )
}
