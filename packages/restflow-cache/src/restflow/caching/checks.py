"""System checks of the invalidation rules (tag ``caches``), run after discovery.

* ``restflow_caching.E001``: a rule names a dispatcher nobody registered (or
  ``DEFAULT_DISPATCHER`` does).
* ``restflow_caching.E002``: a rule's dispatcher class implements neither
  ``_dispatch()`` nor ``dispatch()``.
* ``restflow_caching.W001``: a rule asks for ``rewarm`` but its function has required
  parameters ``field_mapping`` does not supply, so the rewarm can never succeed.
* ``restflow_caching.W002``: a ``watch_fields`` name is not a field of the rule's model.
* ``restflow_caching.W003``: a ``field_mapping`` key is not a parameter of the function.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.core import checks

from restflow.caching._capture import relation_names
from restflow.caching.rules import Rule, wrapper_name

__all__ = ["check_invalidation_rules"]


def _signature(wrapper: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(getattr(wrapper, "__wrapped__", wrapper))
    except (TypeError, ValueError):
        return None


def _dispatcher_error(rule: Rule, known: set[str]) -> checks.CheckMessage | None:
    spec = rule.spec
    if spec.invalidator is not None:
        return None
    target = spec.dispatcher_spec()
    if isinstance(target, type):
        return _dispatcher_class_error(rule, target)
    name = spec.dispatcher_name()
    if name in known:
        return None
    source = "its 'dispatcher'" if spec.dispatcher is not None else "DEFAULT_DISPATCHER"
    return checks.Error(
        f"Cache rule {rule.id} uses dispatcher {name!r} ({source}), which is not "
        "registered.",
        hint=(
            f"Registered dispatchers: {', '.join(sorted(known))}. Install the plugin that "
            "provides it (e.g. pip install restflow-dispatch-celery), register a class with "
            "restflow.dispatch.registry.register_dispatcher, or fix the name."
        ),
        obj=rule.func,
        id="restflow_caching.E001",
    )


def _dispatcher_class_error(rule: Rule, cls: type) -> checks.CheckMessage | None:
    from restflow.dispatch.base import Dispatcher, missing_dispatch_method

    problem = missing_dispatch_method(cls) if issubclass(cls, Dispatcher) else None
    if problem is None:
        return None
    return checks.Error(
        f"Cache rule {rule.id} uses dispatcher class {problem}.",
        hint="docs/writing-a-dispatcher.md shows both forms.",
        obj=rule.func,
        id="restflow_caching.E002",
    )


def _rewarm_warning(rule: Rule) -> checks.CheckMessage | None:
    spec = rule.spec
    signature = _signature(rule.func)
    if not spec.rewarm or signature is None:
        return None
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and p.name not in spec.field_mapping
    ]
    if not missing:
        return None
    return checks.Warning(
        f"Cache rule {rule.id} has rewarm=True but {wrapper_name(rule.func)} "
        f"requires {', '.join(missing)}, which field_mapping does not supply; every "
        "rewarm will fail and fall back to plain invalidation.",
        hint="Map every required parameter in field_mapping, or set rewarm=False.",
        obj=rule.func,
        id="restflow_caching.W001",
    )


def _watch_field_warning(rule: Rule) -> checks.CheckMessage | None:
    spec = rule.spec
    meta = getattr(spec.model, "_meta", None)
    if meta is None or not spec.watch_fields:
        return None
    names = {f.name for f in meta.concrete_fields} | {f.attname for f in meta.concrete_fields}
    names |= relation_names(spec.model)
    unknown = [name for name in spec.watch_fields if name not in names]
    if not unknown:
        return None
    return checks.Warning(
        f"Cache rule {rule.id} watches {', '.join(unknown)}, which "
        f"{meta.label} does not have; a save(update_fields=...) can never name it.",
        hint=(
            f"Use names of {meta.label}'s fields or many-to-many relations (as "
            "save(update_fields=...) and the relation managers name them)."
        ),
        obj=rule.func,
        id="restflow_caching.W002",
    )


def _mapping_warning(rule: Rule) -> checks.CheckMessage | None:
    spec = rule.spec
    signature = _signature(rule.func)
    if signature is None or not spec.field_mapping:
        return None
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    names = {p.name for p in parameters}
    unknown = [arg for arg in spec.field_mapping if arg not in names]
    if not unknown:
        return None
    return checks.Warning(
        f"Cache rule {rule.id} maps {', '.join(unknown)}, which "
        f"{wrapper_name(rule.func)} does not accept.",
        hint="field_mapping keys are parameter names of the cached function.",
        obj=rule.func,
        id="restflow_caching.W003",
    )


def check_invalidation_rules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from restflow.caching.registry import CacheRegister
    from restflow.dispatch.registry import registered_dispatcher_names

    known = set(registered_dispatcher_names())
    messages: list[checks.CheckMessage] = []
    for rule in CacheRegister.rules():
        for check in (_rewarm_warning, _watch_field_warning, _mapping_warning):
            message = check(rule)
            if message is not None:
                messages.append(message)
        error = _dispatcher_error(rule, known)
        if error is not None:
            messages.append(error)
    return messages
