"""Handing field-mapping rules to their dispatchers, and the inline fallback.

At a commit, the rules that passed their gates are grouped into jobs (one per rule, or
one per dispatcher ``batch_key()`` for rules that may share one) and each job goes to
``Dispatcher.dispatch()``. A dispatcher that cannot be found or whose hand-off fails does
not lose the job: it runs here, through the worker entry, after an ``ERROR`` log.
"""

from __future__ import annotations

from typing import Any, cast

from restflow.caching.rules import RuleWork
from restflow.dispatch.base import Dispatcher, DispatchError
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


def dispatch_rules(items: list[RuleWork], context: dict[str, Any]) -> None:
    """Hand field-mapping rules to their dispatchers, grouped where they may share a job.

    docs/invalidation.md, "Dispatchers and batching", describes the grouping.
    """
    groups: dict[Any, tuple[Dispatcher, list[str], dict[str, Payload]]] = {}
    for item in items:
        rule = item.rule.spec
        rule_id = item.rule.id
        try:
            dispatcher = rule.get_dispatcher()
        except Exception as exc:
            spec = rule.dispatcher_spec() if rule.dispatcher is None else rule.dispatcher
            name = spec if isinstance(spec, str) else getattr(spec, "name", None)
            run_fallback(name, [rule_id], {rule_id: _payload(item.kwargs)}, exc, context)
            continue
        if not _groupable(rule, dispatcher):
            _send(dispatcher, [rule_id], {rule_id: _payload(item.kwargs)}, context)
            continue
        key = dispatcher.batch_key()
        group = groups.get(key)
        if group is None:
            group = groups[key] = (dispatcher, [], {})
        _, ids, kwargs = group
        if rule_id in kwargs:
            merged = kwargs[rule_id]
            previous = merged if isinstance(merged, list) else [merged]
            kwargs[rule_id] = previous + item.kwargs
        else:
            ids.append(rule_id)
            kwargs[rule_id] = _payload(item.kwargs)
    for dispatcher, ids, kwargs in groups.values():
        _send(dispatcher, ids, kwargs, context)


def _send(
    dispatcher: Dispatcher,
    rule_ids: list[str],
    rule_kwargs: dict[str, Payload],
    context: dict[str, Any],
) -> None:
    try:
        # A value may be a list of kwargs dicts (several scopes of one rule): JSON all the same.
        dispatcher.dispatch(rule_ids=rule_ids, rule_kwargs=cast(Any, rule_kwargs), **context)
    except DispatchError:
        raise  # the dispatcher was told to raise instead of falling back
    except WorkerError as exc:
        raise exc.error  # the job ran here and its policy says raise: the saver sees why
    except Exception as exc:
        run_fallback(dispatcher.name, rule_ids, rule_kwargs, exc, context)

