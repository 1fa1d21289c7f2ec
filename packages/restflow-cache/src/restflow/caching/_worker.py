"""The worker side of a job: find each rule by id, invalidate its scope, rewarm if asked.

The worker entries of ``restflow.caching.tasks`` (what every dispatcher finally calls)
run a job with :func:`run_rules`. ``rule_kwargs[rule_id]`` is one dict of function
keyword arguments, or a list of them when one job drops several scopes of the same rule
(a partition move: the old and the new partition; a bulk helper: one per row). Several
scopes of a job are bumped with one write per cache; a single one goes through
:func:`process_rule`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Iterable
from typing import Any

from restflow.caching import _discovery, _kept_jobs
from restflow.caching import scopes as storage
from restflow.caching.registry import CacheRegister
from restflow.caching.rules import Rule, is_async_wrapper, wrapper_name

logger = logging.getLogger("restflow.caching.registry")

Job = tuple[Rule, dict[str, Any]]


def _kwargs_sets(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, dict)]
    return []


def run_rules(
    rule_ids: Iterable[str], rule_kwargs: dict[str, Any] | None
) -> Awaitable[None] | None:
    """Invalidate (and rewarm) the scopes of a job; an awaitable if async work remains."""
    rule_kwargs = rule_kwargs or {}
    if _run_compiled(rule_ids, rule_kwargs):
        return None
    awaitables: list[Awaitable[Any]] = []
    sync_jobs: list[Job] = []
    async_jobs: list[Job] = []
    get_rule = CacheRegister.get_rule
    for rule_id in rule_ids:
        rule = get_rule(rule_id) or _recover(rule_id, awaitables)
        if rule is None:
            continue
        payload = rule_kwargs.get(rule_id)
        if payload is None:
            continue
        jobs = async_jobs if is_async_wrapper(rule.func) else sync_jobs
        if type(payload) is dict:
            jobs.append((rule, payload))
        else:
            jobs.extend((rule, func_kwargs) for func_kwargs in _kwargs_sets(payload))
    if len(sync_jobs) == 1:
        process_rule(*sync_jobs[0])
    elif sync_jobs:
        _process_batch(sync_jobs)
    if len(async_jobs) == 1:
        result = process_rule(*async_jobs[0])
        if result is not None:
            awaitables.append(result)
    elif async_jobs:
        awaitables.append(_aprocess_batch(async_jobs))
    if not awaitables:
        return None
    return _await_all(awaitables)


def _run_compiled(rule_ids: Iterable[str], rule_kwargs: dict[str, Any]) -> bool:
    """Run a job from its kept scopes (``_kept_jobs``): one write per cache, then the
    rewarms. ``False`` (nothing done) when the job does not fit; ``run_rules`` runs it."""
    found = _kept_jobs.find(rule_ids, rule_kwargs)
    if found is None:
        return False
    job, func_kwargs, (targets, groups) = found
    try:
        storage.bump_groups(groups)
    except Exception:
        _bump_failed(job.rules, targets)
    for rule in job.rewarm:
        _rewarm_step(rule, func_kwargs)
    return True


async def _await_all(awaitables: list[Awaitable[Any]]) -> None:
    for awaitable in awaitables:
        await awaitable


def _recover(rule_id: str, awaitables: list[Awaitable[Any]]) -> Rule | None:
    """A rule id this process does not know: import its module, else play safe."""
    owner = _discovery.import_rule_owner(rule_id)
    rule = CacheRegister.get_rule(rule_id)
    if rule is not None:
        return rule
    if owner is None or not getattr(owner, "is_cached_function", False):
        logger.warning(
            "restflow cache rule %s is unknown in this process and its function could not "
            "be imported; skipped (is the worker running the same code as the web process?)",
            rule_id,
        )
        return None
    logger.warning(
        "restflow cache rule %s is unknown in this process (is the worker running the "
        "same code as the web process?); invalidating every entry of %s instead",
        rule_id,
        wrapper_name(owner),
    )
    try:
        if is_async_wrapper(owner):
            awaitables.append(owner.ainvalidate_all())
        else:
            owner.invalidate_all()
    except Exception:
        logger.warning("Cache delete failed for %s", wrapper_name(owner), exc_info=True)
    return None


def _targets_of(jobs: list[Job]) -> tuple[list[Any], list[Rule], list[Job]]:
    """Scopes to bump for ``jobs``; jobs whose wrapper cannot tell are returned apart."""
    targets: list[Any] = []
    owners: list[Rule] = []
    apart: list[Job] = []
    for rule, func_kwargs in jobs:
        target_of = getattr(rule.func, "invalidation_target", None)
        if target_of is None:
            apart.append((rule, func_kwargs))
            continue
        try:
            targets.append(target_of((), func_kwargs))
        except Exception:
            _delete_failed(rule)
            continue
        owners.append(rule)
    return targets, owners, apart


def _bump_failed(owners: list[Rule], targets: list[Any]) -> None:
    """Apply the error policy of the rules whose cache failed (all when unknown)."""
    failed = getattr(sys.exc_info()[1], storage.FAILED_ALIASES, None)
    blamed = [
        (rule, target[0])
        for rule, target in zip(owners, targets, strict=True)
        if failed is None or target[0] in failed
    ]
    if any(rule.spec.raise_exception for rule, _ in blamed):
        raise  # re-raises the error being handled by the caller
    for rule, alias in blamed:
        logger.warning(
            "Cache delete failed for %s (cache %r)", wrapper_name(rule.func), alias,
            exc_info=True,
        )


def _process_batch(jobs: list[Job]) -> None:
    """Several sync scopes: bump them all with one ``set_many`` per cache, then rewarm.

    The per-rule error policy is kept: a scope that cannot even be computed fails alone;
    a failed write fails every rule of the batch (re-raised if one of them asks for it).
    """
    targets, owners, apart = _targets_of(jobs)
    for rule, func_kwargs in apart:
        _invalidate_step(rule, func_kwargs)
    if targets:
        try:
            storage.bump_targets(targets)
        except Exception:
            _bump_failed(owners, targets)
    for rule, func_kwargs in jobs:
        if rule.spec.rewarm:
            _rewarm_step(rule, func_kwargs)


async def _aprocess_batch(jobs: list[Job]) -> None:
    """The async twin of :func:`_process_batch` (async wrappers)."""
    targets, owners, apart = _targets_of(jobs)
    for rule, func_kwargs in apart:
        try:
            await rule.func.adelete_by_prefix(**func_kwargs)
        except Exception:
            _delete_failed(rule)
    if targets:
        try:
            await storage.abump_targets(targets)
        except Exception:
            _bump_failed(owners, targets)
    for rule, func_kwargs in jobs:
        if rule.spec.rewarm:
            try:
                await rule.func.arefresh(**func_kwargs)
            except Exception:
                _rewarm_failed(rule, func_kwargs)


def _delete_failed(rule: Rule) -> None:
    if rule.spec.raise_exception:
        raise  # re-raises the error being handled by the caller
    logger.warning(
        "Cache delete failed for %s (cache %r)",
        wrapper_name(rule.func),
        getattr(rule.func, "cache_alias", None),
        exc_info=True,
    )


def _invalidate_step(rule: Rule, func_kwargs: dict[str, Any]) -> None:
    try:
        rule.func.delete_by_prefix(**func_kwargs)
    except Exception:
        _delete_failed(rule)


def _rewarm_step(rule: Rule, func_kwargs: dict[str, Any]) -> None:
    try:
        rule.func.refresh(**func_kwargs)
    except Exception:
        _rewarm_failed(rule, func_kwargs)


def _rewarm_failed(rule: Rule, func_kwargs: dict[str, Any]) -> None:
    if rule.spec.raise_exception:
        raise  # re-raises the error being handled by the caller
    logger.warning(
        "Re-warm failed for %s with %s; the scope stays invalidated",
        wrapper_name(rule.func),
        func_kwargs,
        exc_info=True,
    )


def process_rule(rule: Rule, func_kwargs: dict[str, Any]) -> Awaitable[None] | None:
    """Invalidate the rule's scope for ``func_kwargs``, then rewarm if asked.

    A coroutine is returned for an async cached function.
    """
    if is_async_wrapper(rule.func):
        return _aprocess_rule(rule, func_kwargs)
    _invalidate_step(rule, func_kwargs)
    if rule.spec.rewarm:
        _rewarm_step(rule, func_kwargs)
    return None


async def _aprocess_rule(rule: Rule, func_kwargs: dict[str, Any]) -> None:
    wrapper = rule.func
    try:
        await wrapper.adelete_by_prefix(**func_kwargs)
    except Exception:
        _delete_failed(rule)
    if not rule.spec.rewarm:
        return
    try:
        await wrapper.arefresh(**func_kwargs)
    except Exception:
        _rewarm_failed(rule, func_kwargs)
