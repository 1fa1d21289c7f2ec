"""System checks of the invalidation rules (tag ``caches``), run after discovery.

* ``restflow_caching.E001``: a rule names a dispatcher nobody registered (or
  ``DEFAULT_DISPATCHER`` does).
* ``restflow_caching.E004``: a rule's dispatcher class implements neither
  ``_dispatch()`` nor ``dispatch()``.
* ``restflow_caching.W001``: a rule asks for ``rewarm`` but its function has required
  parameters ``field_mapping`` does not supply, so the rewarm can never succeed.
* ``restflow_caching.W002``: a ``watch_fields`` name is not a field of the rule's model.
* ``restflow_caching.E002``: a ``field_mapping`` key names neither a parameter of the
  function nor a key field of its key constructor (the hint lists the names that work).
* ``restflow_caching.E003``: a ``field_mapping`` key names a key field that cannot address
  a partition (not ``partition=True``, or not built from one value).
* ``restflow_caching.W004``: a ``field_mapping`` names a partition key field but leaves an
  earlier partition level (URL kwargs before ``user``) to be taken as empty.
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
        id="restflow_caching.E004",
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


def _probe_payload(field: Any) -> Any:
    """``field.mapped_payload`` of a sample value; a field of your own that cannot take
    it is given the benefit of the doubt (not ``None``)."""
    try:
        return field.mapped_payload(0)
    except Exception:
        return {}


def _mappable_fields(constructor: Any) -> dict[str, str | None]:
    """Key fields of ``constructor`` by name: ``None`` when a rule may map the field,
    else why it may not."""
    found: dict[str, str | None] = {}
    for name, field in getattr(constructor, "fields", {}).items():
        if not field.partition:
            found[name] = "is not a partition field"
        elif _probe_payload(field) is None:
            found[name] = "reads several values, or none of the call's, so no one value names it"
        else:
            found[name] = None
    return found


def _parameters(rule: Rule, signature: inspect.Signature) -> list[str]:
    """Parameters a rule of ``rule.func`` can map (a view's ``self``/``request`` left out)."""
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    named = [p.name for p in signature.parameters.values() if p.kind not in variadic]
    own = getattr(rule.func, "_rule_parameters", None)
    if callable(own):
        wanted = set(own())
        return [name for name in named if name in wanted]
    return named


def _mapping_errors(rule: Rule) -> list[checks.CheckMessage]:
    spec = rule.spec
    signature = _signature(rule.func)
    if signature is None or not spec.field_mapping:
        return []
    parameters = signature.parameters.values()
    names = {p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    open_keywords = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    fields = _mappable_fields(getattr(rule.func, "key_constructor", None))
    messages: list[checks.CheckMessage] = []
    unknown = [arg for arg in spec.field_mapping if arg not in names and arg not in fields]
    if unknown and not open_keywords:
        usable = [f"{name} (parameter)" for name in _parameters(rule, signature)]
        usable += [f"{name} (key field)" for name, why in sorted(fields.items()) if why is None]
        messages.append(
            checks.Error(
                f"Cache rule {rule.id} maps {', '.join(unknown)}, which is neither a "
                f"parameter of {wrapper_name(rule.func)} nor a key field of its key "
                "constructor; its saves could never address the right entries.",
                hint=(
                    f"Names that would work: {', '.join(usable)}."
                    if usable
                    else "Nothing to map: drop field_mapping (the rule then invalidates "
                    "every entry), or declare a key field with partition=True."
                ),
                obj=rule.func,
                id="restflow_caching.E002",
            )
        )
    for arg in spec.field_mapping:
        why = fields.get(arg)
        if arg in names or why is None:
            continue
        messages.append(
            checks.Error(
                f"Cache rule {rule.id} maps key field {arg!r} of {wrapper_name(rule.func)}, "
                f"which {why}; every save would invalidate all of its entries.",
                hint=(
                    "Map a partition field that reads one value: RequestValueKeyField, "
                    "QueryParamsKeyField of one parameter, ArgsKeyField or "
                    "ViewKwargsKeyField of one argument, declared with partition=True."
                ),
                obj=rule.func,
                id="restflow_caching.E003",
            )
        )
    return messages


def _unmapped_levels(rule: Rule, signature: inspect.Signature) -> dict[str, list[str]]:
    """Partition fields before a mapped key field that the mapping leaves to chance:
    ``{field: what would supply it}`` (the field's name, or its parameters)."""
    from restflow.caching.key_fields import ArgsKeyField

    constructor = getattr(rule.func, "key_constructor", None)
    mapping = rule.spec.field_mapping
    parameters = set(_parameters(rule, signature))
    items = [(name, f) for name, f in sorted(getattr(constructor, "fields", {}).items())
             if f.partition]
    mapped = [i for i, (name, _) in enumerate(items) if name in mapping and name not in parameters]
    if not mapped:
        return {}
    gaps: dict[str, list[str]] = {}
    for name, field in items[: max(mapped)]:
        if name in mapping:
            continue
        if isinstance(field, ArgsKeyField):
            wanted = parameters if field.arguments == "*" else set(
                [field.arguments] if isinstance(field.arguments, str) else field.arguments
            ) & parameters
            missing = sorted(wanted - set(mapping))
            if missing:
                gaps[name] = missing
        else:
            gaps[name] = [name]
    return gaps


def _level_warning(rule: Rule) -> checks.CheckMessage | None:
    signature = _signature(rule.func)
    if signature is None or not rule.spec.field_mapping:
        return None
    gaps = _unmapped_levels(rule, signature)
    if not gaps:
        return None
    fields = ", ".join(f"{name!r}" for name in gaps)
    supply = ", ".join(sorted({value for values in gaps.values() for value in values}))
    return checks.Warning(
        f"Cache rule {rule.id} maps a key field of {wrapper_name(rule.func)} but not the "
        f"earlier partition field(s) {fields}: a save drops only the entries where those "
        "are empty.",
        hint=(
            f"Map {supply} too (partition levels follow the fields' names: every level "
            "before the mapped field needs a value)."
        ),
        obj=rule.func,
        id="restflow_caching.W004",
    )


def check_invalidation_rules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from restflow.caching.registry import CacheRegister
    from restflow.dispatch.registry import registered_dispatcher_names

    known = set(registered_dispatcher_names())
    messages: list[checks.CheckMessage] = []
    for rule in CacheRegister.rules():
        for check in (_rewarm_warning, _watch_field_warning, _level_warning):
            message = check(rule)
            if message is not None:
                messages.append(message)
        messages.extend(_mapping_errors(rule))
        error = _dispatcher_error(rule, known)
        if error is not None:
            messages.append(error)
    return messages
