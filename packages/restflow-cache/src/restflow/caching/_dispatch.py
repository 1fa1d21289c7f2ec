"""Handing field-mapping rules to their dispatchers, and the inline fallback.

At a commit, the rules that passed their gates are grouped into jobs (one per rule, or
one per dispatcher ``batch_key()`` for rules that may share one) and each job goes to
``Dispatcher.dispatch()``. A dispatcher that cannot be found or whose hand-off fails does
not lose the job: it runs here, through the worker entry, after an ``ERROR`` log.
"""

from __future__ import annotations

from typing import Any

from restflow.caching.rules import Rule, RuleGroup, RuleWork
from restflow.dispatch import registry as _dispatchers
from restflow.dispatch.base import Dispatcher, DispatchError, dispatch_valid
from restflow.dispatch.worker import WorkerError, run_fallback

Payload = dict[str, Any] | list[dict[str, Any]]


def _payload(kwargs: list[dict[str, Any]]) -> Payload:
    return kwargs[0] if len(kwargs) == 1 else kwargs


def _groupable(rule: Any, dispatcher: Dispatcher) -> bool:
    if rule.batch and dispatcher.supports_batching:
        return True
    # The inline dispatcher runs the job right here: merging its rules changes nothing
    # but the number of cache round trips.
    return dispatcher.name == "inline" and not dispatcher.config


def _parts(group: RuleGroup) -> list[tuple[Any, ...]]:
    """The rules of ``group`` cut into runs that go the same way: ``(dispatcher,
    batch_key, rule ids)`` for rules that may share a job, ``(dispatcher, None, [id])``
    for one that has a job of its own, ``(None, rule, error)`` for one whose dispatcher
    cannot be resolved. Kept on the group until the dispatcher generation changes
    (``RESTFLOW_SETTINGS``, dispatcher registrations); not kept when a dispatcher failed
    to resolve, so the next change tries again."""
    generation = _dispatchers.dispatcher_generation()
    kept = group.cache.get("dispatch")
    if kept is not None and kept[0] == generation:
        parts: list[tuple[Any, ...]] = kept[1]
        return parts
    parts = []
    failed = False
    for rule in group.rules:
        try:
            dispatcher = rule.spec.get_dispatcher()
        except Exception as exc:
            parts.append((None, rule, exc))
            failed = True
            continue
        if not _groupable(rule.spec, dispatcher):
            parts.append((dispatcher, None, [rule.id]))
            continue
        key = dispatcher.batch_key()
        if parts and parts[-1][0] is not None and parts[-1][1] == key:
            parts[-1][2].append(rule.id)
        else:
            parts.append((dispatcher, key, [rule.id]))
    if not failed:
        group.cache["dispatch"] = (generation, parts)
    return parts


def dispatch_rules(items: list[RuleWork], context: dict[str, Any]) -> None:
    """Hand field-mapping rules to their dispatchers, grouped where they may share a job.

    docs/invalidation.md, "Dispatchers and batching", describes the grouping.
    """
    groups: dict[Any, tuple[Dispatcher, list[str], dict[str, Payload]]] = {}
    for item in items:
        payload = _payload(item.kwargs)
        for dispatcher, key, ids in _parts(item.group):
            if dispatcher is None:
                _fallback(key, ids, payload, context)  # (None, rule, error)
                continue
            if key is None:
                _send(dispatcher, [ids[0]], {ids[0]: payload}, context)
                continue
            group = groups.get(key)
            if group is None:
                group = groups[key] = (dispatcher, [], {})
            _, job_ids, kwargs = group
            if kwargs.keys().isdisjoint(ids):
                job_ids.extend(ids)
                kwargs.update(dict.fromkeys(ids, payload))
                continue
            for rule_id in ids:
                if rule_id in kwargs:
                    merged = kwargs[rule_id]
                    previous = merged if isinstance(merged, list) else [merged]
                    kwargs[rule_id] = previous + item.kwargs
                else:
                    job_ids.append(rule_id)
                    kwargs[rule_id] = payload
    for dispatcher, ids, kwargs in groups.values():
        _send(dispatcher, ids, kwargs, context)


def _fallback(rule: Rule, error: Exception, payload: Payload, context: dict[str, Any]) -> None:
    """The job of a rule whose dispatcher cannot be resolved runs here (one fallback path)."""
    spec = rule.spec.dispatcher_spec() if rule.spec.dispatcher is None else rule.spec.dispatcher
    name = spec if isinstance(spec, str) else getattr(spec, "name", None)
    run_fallback(name, [rule.id], {rule.id: payload}, error, context)


def _send(
    dispatcher: Dispatcher,
    rule_ids: list[str],
    rule_kwargs: dict[str, Payload],
    context: dict[str, Any],
) -> None:
    try:
        # The kwargs are JSON-native by construction (``_capture.to_json`` at plan time),
        # so ``Dispatcher.dispatch``'s validation is not run again. A value may be a list
        # of kwargs dicts (several scopes of one rule).
        dispatch_valid(dispatcher, rule_ids, rule_kwargs, context)
    except DispatchError:
        raise  # the dispatcher was told to raise instead of falling back
    except WorkerError as exc:
        raise exc.error  # the job ran here and its policy says raise: the saver sees why
    except Exception as exc:
        run_fallback(dispatcher.name, rule_ids, rule_kwargs, exc, context)

