"""The lookup / compute / store engine behind :class:`~restflow.caching.CachedWrapper`.

Sync and async twins of the same steps (docs/caching.md, Storage model and guarantees):
plan the keys (memoized in :mod:`~restflow.caching.plan_memo`), read the entry and its
scopes in one ``get_many`` (:mod:`~restflow.caching.envelope`), and on a miss take the
scope tokens *before* calling the function, then store the envelope stamped with them.
``lock=True`` adds the stampede lock (:mod:`~restflow.caching.stampede`) around the
miss path.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache
from django.template.response import SimpleTemplateResponse

from restflow.caching import _hash_tags, envelope, scopes, stampede, tokens
from restflow.caching.backends import get_cache
from restflow.caching.constants import CacheStatus
from restflow.caching.envelope import Plan, make_metadata, valid_envelope
from restflow.caching.key_constructor import KeyConstructor
from restflow.caching.partition_mapping import UnaddressableKeyField
from restflow.caching.plan_memo import Memo, memo_key

__all__ = ["NO_STORE", "CacheEngine"]

logger = logging.getLogger("restflow.caching.registry")

Metadata = dict[str, Any]
Args = tuple[Any, ...]
Kwargs = dict[str, Any]
Values = dict[str, Any] | None  # what one read returned (None: the cache failed)
Result = tuple[Any, Metadata | None]  # the call's result and its metadata (None: not asked)
_HIT = CacheStatus.HIT
_MISS = CacheStatus.MISS
NO_STORE: Any = object()  # the value ``_storable`` returns to refuse storage


class CacheEngine:
    """Shared machinery of cached wrappers; configured by ``CachedWrapper.__init__``."""

    func: Callable[..., Any]
    ttl: int | None
    cache_if: Callable[[Any], Any] | None
    cache_unless: Callable[[Any], Any] | None
    lock: bool
    lock_timeout: float
    cache_alias: str
    is_async: bool
    _want_meta: bool = False
    _key_constructor: KeyConstructor
    _version: int
    _prefix: str
    _fn_scope: str
    _static_scopes: list[str]
    _has_partition: bool
    _memo: Memo | None
    _targets: Memo

    # -- hooks (overridden by CachedResponseWrapper) -------------------------------------
    def _bypass(self, args: Args, kwargs: Kwargs) -> bool:
        """True when this call must neither read nor write the cache."""
        return False

    def _storable(self, result: Any) -> Any:
        """The value to store for ``result``, or ``NO_STORE``."""
        return result

    def _from_stored(self, value: Any) -> Any:
        return value

    def _deliver(self, result: Any, metadata: Metadata | None) -> Any:
        return result

    def _run_sync(self, args: Args, kwargs: Kwargs) -> Any:
        return self.func(*args, **kwargs)

    async def _run_async(self, args: Args, kwargs: Kwargs) -> Any:
        return await self.func(*args, **kwargs)

    # -- planning ------------------------------------------------------------------------
    def _plan(self, args: Args, kwargs: Kwargs) -> Plan:
        memo = self._memo
        if memo is None:
            return self._build_plan(args, kwargs)
        plan: Plan = memo.fetch(self._memo_key(args, kwargs), self._build_plan, args, kwargs)
        return plan

    def _memo_key(self, args: Args, kwargs: Kwargs) -> Any:
        """Hashable identity of the inputs the key depends on, or ``None`` (no memo)."""
        return memo_key(args, kwargs)

    def _build_plan(self, args: Args, kwargs: Kwargs) -> Plan:
        key, parts = self._key_constructor.compose(self._prefix, self.func, args, kwargs)
        names = list(self._static_scopes)
        if self._has_partition:
            names.extend(scopes.partition_scopes(self._prefix, parts))
        names.append(scopes.key_scope(key))
        return Plan(key, _hash_tags.in_slot_of(key, names), self._version, self.ttl)

    def invalidation_target(self, args: Args | None, kwargs: Kwargs | None) -> scopes.Target:
        """The scope ``delete_by_prefix(*args, **kwargs)`` bumps (all when both None).

        Memoized like plans (pure key constructors, plain arguments; cleared when
        ``RESTFLOW_SETTINGS`` changes): a target is a function of the arguments only.
        """
        if (args is None and kwargs is None) or not self._key_constructor.is_pure:
            return self._build_target(args, kwargs)
        identity = memo_key(args or (), kwargs or {})
        target: scopes.Target = self._targets.fetch(identity, self._build_target, args, kwargs)
        return target

    def _build_target(self, args: Args | None, kwargs: Kwargs | None) -> scopes.Target:
        scope = self._fn_scope
        if (args is not None or kwargs is not None) and self._has_partition:
            try:
                parts = self._key_constructor.partition_parts(self.func, args, kwargs)
            except UnaddressableKeyField as exc:
                # Never stale: drop every entry (check restflow_caching.E003 reports it).
                logger.warning(
                    "%s: %s, so it cannot address a partition; invalidating every entry",
                    self.func.__qualname__,
                    exc,
                )
                parts = []
            parts = scopes.addressed_parts(parts)
            if parts:
                scope = scopes.partition_scope(self._prefix, parts)
                return self._target(scope, parts[0])
        return self._target(scope, None)

    def _target(self, scope: str, first_part: str | None) -> scopes.Target:
        namespace = self._key_constructor._meta.namespace
        scope = _hash_tags.place(scope, namespace, self._prefix, first_part)
        return (self.cache_alias, self._version, scope, tokens.scope_life(self.ttl))

    def _check_predicates_sync(self, result: Any) -> bool:
        for predicate, wanted in ((self.cache_if, True), (self.cache_unless, False)):
            if predicate is None:
                continue
            verdict = predicate(result)
            if inspect.isawaitable(verdict):
                if inspect.iscoroutine(verdict):
                    verdict.close()
                raise TypeError(
                    f"{self.func.__qualname__} is synchronous but got an async predicate; "
                    "use a plain function for cache_if/cache_unless"
                )
            return bool(verdict) is wanted
        return True

    async def _check_predicates_async(self, result: Any) -> bool:
        for predicate, wanted in ((self.cache_if, True), (self.cache_unless, False)):
            if predicate is None:
                continue
            verdict = predicate(result)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            return bool(verdict) is wanted
        return True

    def _hit(self, env: tuple[Any, ...], meta: bool) -> Result:
        return self._from_stored(env[1]), make_metadata(env, _HIT) if meta else None

    # -- sync engine ---------------------------------------------------------------------
    def _cache(self) -> BaseCache:
        return get_cache(self.cache_alias)

    def _lookup(self, args: Args, kwargs: Kwargs, meta: bool) -> Any:
        if self._bypass(args, kwargs):
            return self._run_sync(args, kwargs), None
        plan = self._plan(args, kwargs)
        cache = get_cache(self.cache_alias)
        values = envelope.read(cache, self.cache_alias, plan.keys, plan.version)
        if values is not None:
            env = valid_envelope(values, plan)
            if env is not None:
                return self._hit(env, meta)
            if self.lock:
                return self._locked_compute(cache, plan, args, kwargs, meta)
        return self._compute(cache, plan, values, args, kwargs)

    def _compute(self, cache: BaseCache, plan: Plan, values: Values, args: Args, kwargs: Kwargs) -> Result:
        tokens = envelope.prepare(cache, self.cache_alias, plan, values) if values is not None else None
        result = self._run_sync(args, kwargs)
        if not self._check_predicates_sync(result) or tokens is None:
            return result, None
        if self._stored_once_rendered(cache, plan, result, tokens):
            return result, None
        return result, self._store_sync(cache, plan, result, tokens)

    def _stored_once_rendered(
        self, cache: BaseCache, plan: Plan, result: Any, tokens: tuple[int, ...]
    ) -> bool:
        """True when ``result`` is a template response not rendered yet: it is stored once
        rendered (render callbacks run synchronously, in both engines)."""
        if isinstance(result, SimpleTemplateResponse) and not result.is_rendered:
            result.add_post_render_callback(
                lambda rendered: self._store_sync(cache, plan, rendered, tokens) and None
            )
            return True
        return False

    def _store_sync(
        self, cache: BaseCache, plan: Plan, result: Any, tokens: tuple[int, ...]
    ) -> Metadata | None:
        value = self._storable(result)
        if value is NO_STORE:
            return None
        env = envelope.store(cache, self.cache_alias, plan, value, tokens)
        return make_metadata(env, _MISS) if env is not None else None

    def _locked_compute(self, cache: BaseCache, plan: Plan, args: Args, kwargs: Kwargs, meta: bool) -> Result:
        lock = stampede.Lock(cache, self.cache_alias, plan.key, plan.version, self.lock_timeout)
        while True:
            acquired = lock.acquire()
            if acquired is None:
                return self._run_sync(args, kwargs), None
            values = envelope.read(cache, lock.alias, plan.keys, plan.version)
            if values is None:
                return self._run_sync(args, kwargs), None
            env = valid_envelope(values, plan)
            if env is not None:
                if acquired:
                    lock.release()
                return self._hit(env, meta)
            if acquired:
                try:
                    return self._compute(cache, plan, values, args, kwargs)
                finally:
                    lock.release()
            if lock.expired():
                return self._compute(cache, plan, values, args, kwargs)
            time.sleep(lock.backoff())

    # -- async engine --------------------------------------------------------------------
    async def _alookup(self, args: Args, kwargs: Kwargs, meta: bool) -> Any:
        if self._bypass(args, kwargs):
            return await self._run_async(args, kwargs), None
        plan = self._plan(args, kwargs)
        cache = get_cache(self.cache_alias)
        values = await envelope.aread(cache, self.cache_alias, plan.keys, plan.version)
        if values is not None:
            env = valid_envelope(values, plan)
            if env is not None:
                return self._hit(env, meta)
            if self.lock:
                return await self._alocked_compute(cache, plan, args, kwargs, meta)
        return await self._acompute(cache, plan, values, args, kwargs)

    async def _acompute(
        self, cache: BaseCache, plan: Plan, values: Values, args: Args, kwargs: Kwargs
    ) -> Result:
        alias = self.cache_alias
        tokens = await envelope.aprepare(cache, alias, plan, values) if values is not None else None
        result = await self._run_async(args, kwargs)
        if not await self._check_predicates_async(result) or tokens is None:
            return result, None
        if self._stored_once_rendered(cache, plan, result, tokens):
            return result, None
        value = self._storable(result)
        if value is NO_STORE:
            return result, None
        env = await envelope.astore(cache, alias, plan, value, tokens)
        return result, make_metadata(env, _MISS) if env is not None else None

    async def _alocked_compute(
        self, cache: BaseCache, plan: Plan, args: Args, kwargs: Kwargs, meta: bool
    ) -> Result:
        lock = stampede.Lock(cache, self.cache_alias, plan.key, plan.version, self.lock_timeout)
        while True:
            acquired = await lock.aacquire()
            if acquired is None:
                return await self._run_async(args, kwargs), None
            values = await envelope.aread(cache, lock.alias, plan.keys, plan.version)
            if values is None:
                return await self._run_async(args, kwargs), None
            env = valid_envelope(values, plan)
            if env is not None:
                if acquired:
                    await lock.arelease()
                return self._hit(env, meta)
            if acquired:
                try:
                    return await self._acompute(cache, plan, values, args, kwargs)
                finally:
                    await lock.arelease()
            if lock.expired():
                return await self._acompute(cache, plan, values, args, kwargs)
            await asyncio.sleep(lock.backoff())
