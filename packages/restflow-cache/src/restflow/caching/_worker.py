"""The worker side of a job: find each rule, invalidate its scope, rewarm if asked.

``rule_kwargs[rule_id]`` is one dict of function keyword arguments, or a list of them
when one job drops several scopes of the same rule (a partition move: the old and the new
partition; a bulk helper: one per row).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from restflow.caching import _discovery
from restflow.caching import scopes as storage
from restflow.caching._commit import is_async_wrapper, wrapper_name

if TYPE_CHECKING:
    from restflow.caching.registry import CacheRegistry

logger = logging.getLogger("restflow.caching.registry")

RuleEntry = dict[str, Any]


def _kwargs_sets(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, dict)]
    return []


def run_rules(
    registry: CacheRegistry, rule_ids: Iterable[str], rule_kwargs: dict[str, Any]
) -> Awaitable[None] | None:
    awaitables: list[Awaitable[Any]] = []
    sync_jobs: list[Job] = []
    async_jobs: list[Job] = []
    get_rule = registry.get_rule
    for rule_id in rule_ids:
        entry = get_rule(rule_id) or _recover(registry, rule_id, awaitables)
        if entry is None:
            continue
        payload = rule_kwargs.get(rule_id)
        if payload is None:
            continue
        jobs = async_jobs if is_async_wrapper(entry["func"]) else sync_jobs
        if type(payload) is dict:
            jobs.append((entry, payload))
        else:
            jobs.extend((entry, func_kwargs) for func_kwargs in _kwargs_sets(payload))
    if len(sync_jobs) == 1:
        registry.process_rule(*sync_jobs[0])
    elif sync_jobs:
        _process_batch(sync_jobs)
    if len(async_jobs) == 1:
        result = registry.process_rule(*async_jobs[0])
        if result is not None:
            awaitables.append(result)
    elif async_jobs:
        awaitables.append(_aprocess_batch(async_jobs))
    if not awaitables:
        return None
    return _await_all(awaitables)


async def _await_all(awaitables: list[Awaitable[Any]]) -> None:
    for awaitable in awaitables:
        await awaitable


def _recover(
    registry: CacheRegistry, rule_id: str, awaitables: list[Awaitable[Any]]
) -> RuleEntry | None:
    """A rule id this process does not know: import its module, else play safe."""
    owner = _discovery.import_rule_owner(rule_id)
    entry = registry.get_rule(rule_id)
    if entry is not None:
        return entry
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


Job = tuple[RuleEntry, dict[str, Any]]


def _targets_of(jobs: list[Job]) -> tuple[list[Any], list[RuleEntry], list[Job]]:
    """Scopes to bump for ``jobs``; jobs whose wrapper cannot tell are returned apart."""
    targets: list[Any] = []
    owners: list[RuleEntry] = []
    apart: list[Job] = []
    for entry, func_kwargs in jobs:
        target_of = getattr(entry["func"], "invalidation_target", None)
        if target_of is None:
            apart.append((entry, func_kwargs))
            continue
        try:
            targets.append(target_of((), func_kwargs))
        except Exception:
            _delete_failed(entry)
            continue
        owners.append(entry)
    return targets, owners, apart


def _bump_failed(owners: list[RuleEntry], targets: list[Any]) -> None:
    """Apply the error policy of the rules whose cache failed (all when unknown)."""
    failed = getattr(sys.exc_info()[1], storage.FAILED_ALIASES, None)
    blamed = [
        (entry, target[0])
        for entry, target in zip(owners, targets, strict=True)
        if failed is None or target[0] in failed
    ]
    if any(entry["invalidation_rule"].raise_exception for entry, _ in blamed):
        raise  # re-raises the error being handled by the caller
    for entry, alias in blamed:
        logger.warning(
            "Cache delete failed for %s (cache %r)", wrapper_name(entry["func"]), alias,
            exc_info=True,
        )


def _process_batch(jobs: list[Job]) -> None:
    """Several sync scopes: bump them all with one ``set_many`` per cache, then rewarm.

    The per-rule error policy is kept: a scope that cannot even be computed fails alone;
    a failed write fails every rule of the batch (re-raised if one of them asks for it).
    """
    targets, owners, apart = _targets_of(jobs)
    for entry, func_kwargs in apart:
        _invalidate_step(entry, func_kwargs)
    if targets:
        try:
            storage.bump_targets(targets)
        except Exception:
            _bump_failed(owners, targets)
    for entry, func_kwargs in jobs:
        if entry["invalidation_rule"].rewarm:
            _rewarm_step(entry, func_kwargs)


async def _aprocess_batch(jobs: list[Job]) -> None:
    """The async twin of :func:`_process_batch` (async wrappers)."""
    targets, owners, apart = _targets_of(jobs)
    for entry, func_kwargs in apart:
        try:
            await entry["func"].adelete_by_prefix(**func_kwargs)
        except Exception:
            _delete_failed(entry)
    if targets:
        try:
            await storage.abump_targets(targets)
        except Exception:
            _bump_failed(owners, targets)
    for entry, func_kwargs in jobs:
        if entry["invalidation_rule"].rewarm:
            try:
                await entry["func"].arefresh(**func_kwargs)
            except Exception:
                _rewarm_failed(entry, func_kwargs)


def _delete_failed(entry: RuleEntry) -> None:
    if entry["invalidation_rule"].raise_exception:
        raise  # re-raises the error being handled by the caller
    logger.warning(
        "Cache delete failed for %s (cache %r)",
        wrapper_name(entry["func"]),
        getattr(entry["func"], "cache_alias", None),
        exc_info=True,
    )


def _invalidate_step(entry: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    try:
        entry["func"].delete_by_prefix(**func_kwargs)
    except Exception:
        _delete_failed(entry)


def _rewarm_step(entry: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    try:
        entry["func"].refresh(**func_kwargs)
    except Exception:
        _rewarm_failed(entry, func_kwargs)


def _rewarm_failed(entry: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    if entry["invalidation_rule"].raise_exception:
        raise  # re-raises the error being handled by the caller
    logger.warning(
        "Re-warm failed for %s with %s; the scope stays invalidated",
        wrapper_name(entry["func"]),
        func_kwargs,
        exc_info=True,
    )


def process_rule_sync(rule: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    _invalidate_step(rule, func_kwargs)
    if rule["invalidation_rule"].rewarm:
        _rewarm_step(rule, func_kwargs)


async def aprocess_rule(rule: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    wrapper = rule["func"]
    try:
        await wrapper.adelete_by_prefix(**func_kwargs)
    except Exception:
        _delete_failed(rule)
    if not rule["invalidation_rule"].rewarm:
        return
    try:
        await wrapper.arefresh(**func_kwargs)
    except Exception:
        _rewarm_failed(rule, func_kwargs)
