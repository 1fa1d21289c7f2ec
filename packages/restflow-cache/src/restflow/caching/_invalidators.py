"""Custom invalidators: called at commit, in the process that saved, with the extras
their signature accepts (``signal_type``, ``instance_created``, ``update_fields``,
``pk``); an async one is returned as a coroutine for the caller to drive. An error is
logged, or raised when the rule sets ``raise_exception``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from restflow.caching.rules import Rule, wrapper_name

logger = logging.getLogger("restflow.caching.registry")


def _extras_for(target: Callable[..., Any], extras: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(extras)
    named = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    return {key: value for key, value in extras.items() if key in named}


def run_invalidator(
    rule: Rule,
    instance: Any,
    *,
    signal_type: Any,
    instance_created: bool,
    update_fields: frozenset[str] | None,
    pk: Any = None,
) -> Awaitable[None] | None:
    """Call the rule's custom invalidator; a coroutine is returned for async targets."""
    extras = {
        "signal_type": signal_type,
        "instance_created": instance_created,
        "update_fields": update_fields,
        "pk": pk,
    }
    try:
        target = rule.spec.resolve_invalidator()
        result = target(rule.func, instance, **_extras_for(target, extras))
    except Exception as exc:
        _invalidator_failed(rule, exc)
        return None
    if inspect.isawaitable(result):
        return _guard_async(result, rule)
    return None


async def _guard_async(awaitable: Awaitable[Any], rule: Rule) -> None:
    try:
        await awaitable
    except Exception as exc:
        _invalidator_failed(rule, exc)


def _invalidator_failed(rule: Rule, exc: Exception) -> None:
    if rule.spec.raise_exception:
        raise exc
    logger.warning("Custom invalidator failed for %s", wrapper_name(rule.func), exc_info=True)
