"""``cache_result`` and :class:`CachedWrapper` (caching.md §6, storage model §7)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from django.core.cache import BaseCache
from django.template.response import SimpleTemplateResponse

from restflow.caching import _settings, storage
from restflow.caching._binding import parameter_names
from restflow.caching.constants import CACHE_MISSING, CacheStatus
from restflow.caching.key_constructor import (
    DefaultKeyConstructor,
    InlineKeyConstructor,
    KeyConstructor,
)
from restflow.caching.storage import Plan, make_metadata, valid_envelope

__all__ = ["CachedWrapper", "cache_result", "set_response_cache_header"]

P = ParamSpec("P")
T = TypeVar("T")
Metadata = dict[str, Any]
KeyConstructorSpec = type[KeyConstructor] | KeyConstructor | dict[str, Any]

_NO_STORE: Any = object()
_MEMO_LIMIT = 4096
_MEMO_TYPES = frozenset({int, str, type(None)})
_settings_generation = _settings.generation

def _memo_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A hashable identity of plain arguments (``1`` and ``True`` never compare equal
    here: only exact ``int``/``str``/``None`` qualify), or ``None``."""
    for value in args:
        if type(value) not in _MEMO_TYPES:
            return None
    if not kwargs:
        return args
    for value in kwargs.values():
        if type(value) not in _MEMO_TYPES:
            return None
    return (args, tuple(kwargs.items()))
_HIT = CacheStatus.HIT
_MISS = CacheStatus.MISS


def _resolve_constructor(spec: Any) -> KeyConstructor:
    if isinstance(spec, dict):
        return InlineKeyConstructor(**spec)()
    if isinstance(spec, type) and issubclass(spec, KeyConstructor):
        return spec()
    if isinstance(spec, KeyConstructor):
        return spec
    raise ValueError(
        f"Invalid KeyConstructor {spec!r}: pass a KeyConstructor subclass, an instance of "
        "one, or a dict of InlineKeyConstructor arguments"
    )


class CachedWrapper(Generic[P, T]):
    """A cached function. Calls go through the cache; management methods below.

    Hits cost one ``get_many`` round trip (entry + scope tokens). Sync methods raise
    ``TypeError`` on an async function and name their ``a``-prefixed twin.
    """

    is_cached_function = True
    can_rewarm = True
    """Whether ``refresh(**mapped_kwargs)`` can rebuild an entry (False for views)."""
    _want_meta = False

    def __init__(
        self,
        func: Callable[P, T],
        key_constructor: KeyConstructorSpec = DefaultKeyConstructor,
        ttl: int | None = 3600,
        invalidates_on: list[Any] | None = None,
        cache_if: Callable[[Any], Any] | None = None,
        cache_unless: Callable[[Any], Any] | None = None,
        *,
        lock: bool = False,
        lock_timeout: float = 10.0,
        cache_alias: str = "default",
    ) -> None:
        constructor = _resolve_constructor(key_constructor)
        if cache_if is not None and cache_unless is not None:
            raise ValueError("cache_if and cache_unless are mutually exclusive; pass only one")
        self.func = func
        self.ttl = ttl
        self.cache_if = cache_if
        self.cache_unless = cache_unless
        self.lock = bool(lock)
        self.lock_timeout = float(lock_timeout)
        self.cache_alias = cache_alias
        self.is_async = inspect.iscoroutinefunction(func)
        functools.update_wrapper(self, func)
        self._key_constructor = constructor
        self._version = constructor.get_version()
        self._prefix = constructor.function_prefix(func)
        namespace = constructor._meta.namespace
        self._fn_scope = storage.function_scope(self._prefix)
        self._static_scopes = [storage.namespace_scope(namespace)] if namespace else []
        self._static_scopes.append(self._fn_scope)
        self._has_partition = bool(constructor._partition_fields)
        # Plans of calls with plain int/str/None arguments are memoized when the key
        # depends only on argument values (cleared when RESTFLOW_SETTINGS changes).
        self._memo: dict[Any, Plan] | None = {} if constructor.is_pure else None
        self._memo_generation = _settings_generation[0]
        type(constructor).register_wrapper(self)
        self.invalidates_on = list(invalidates_on or [])
        self._register_rules()

    # -- descriptor and identity ---------------------------------------------------------
    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._prefix.rstrip(':')}>"

    @property
    def key_constructor(self) -> KeyConstructor:
        return self._key_constructor

    def get_key_version(self) -> int:
        return self._version

    def get_cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        return self._key_constructor.compose(self._prefix, self.func, args, kwargs)[0]

    def _register_rules(self) -> None:
        if not self.invalidates_on:
            return
        params = parameter_names(self.func)
        for rule in self.invalidates_on:
            if (
                params
                and not getattr(rule, "field_mapping", None)
                and getattr(rule, "invalidator", None) is None
            ):
                raise ValueError(
                    f"InvalidationRule for {getattr(rule, 'model', rule)!r} on "
                    f"{self.func.__qualname__} must declare either field_mapping or "
                    f"invalidator: the function takes parameters ({', '.join(params)})"
                )
        try:
            from restflow.caching.registry import CacheRegister
        except ImportError:
            return
        for rule in self.invalidates_on:
            CacheRegister.add(model=rule.model, func=self, invalidation_rule=rule)

    # -- hooks (overridden by CachedResponseWrapper) -------------------------------------
    def _bypass(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """True when this call must neither read nor write the cache."""
        return False

    def _storable(self, result: Any) -> Any:
        """The value to store for ``result``, or ``_NO_STORE``."""
        return result

    def _from_stored(self, value: Any) -> Any:
        return value

    def _deliver(self, result: Any, metadata: Metadata | None) -> Any:
        return result

    def _run_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.func(*args, **kwargs)

    async def _run_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return await self.func(*args, **kwargs)  # type: ignore[misc]

    # -- planning ------------------------------------------------------------------------
    def _plan(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
        memo = self._memo
        if memo is None:
            return self._build_plan(args, kwargs)
        memo_key = _memo_key(args, kwargs)
        if memo_key is None:
            return self._build_plan(args, kwargs)
        if self._memo_generation != _settings_generation[0]:
            memo.clear()
            self._memo_generation = _settings_generation[0]
        plan = memo.get(memo_key)
        if plan is None:
            plan = self._build_plan(args, kwargs)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[memo_key] = plan
        return plan

    def _build_plan(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
        key, parts = self._key_constructor.compose(self._prefix, self.func, args, kwargs)
        scopes = list(self._static_scopes)
        if self._has_partition:
            scopes.extend(storage.partition_scopes(self._prefix, parts))
        scopes.append(storage.key_scope(key))
        return Plan(key, scopes, self._version, self.ttl)

    def invalidation_target(
        self, args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None
    ) -> storage.Target:
        """The scope ``delete_by_prefix(*args, **kwargs)`` bumps (all when both None)."""
        scope = self._fn_scope
        if (args is not None or kwargs is not None) and self._has_partition:
            parts = self._key_constructor.partition_parts(self.func, args, kwargs)
            last = len(parts)
            while last and not parts[last - 1]:
                last -= 1
            if last:
                scope = storage.partition_scope(self._prefix, parts[:last])
        return (self.cache_alias, self._version, scope, storage.scope_life(self.ttl))

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

    # -- sync engine ---------------------------------------------------------------------
    def _cache(self) -> BaseCache:
        return storage.get_cache(self.cache_alias)

    def _lookup(self, args: tuple[Any, ...], kwargs: dict[str, Any], meta: bool) -> Any:
        if self._bypass(args, kwargs):
            return self._run_sync(args, kwargs), None
        plan = self._plan(args, kwargs)
        cache = storage.get_cache(self.cache_alias)
        values = storage.read(cache, self.cache_alias, plan.keys, plan.version)
        if values is not None:
            env = valid_envelope(values, plan)
            if env is not None:
                return self._from_stored(env[1]), make_metadata(env, _HIT) if meta else None
            if self.lock:
                return self._locked_compute(cache, plan, args, kwargs, meta)
        return self._compute(cache, plan, values, args, kwargs)

    def _compute(
        self,
        cache: BaseCache,
        plan: Plan,
        values: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[Any, Metadata | None]:
        alias = self.cache_alias
        tokens = storage.prepare(cache, alias, plan, values) if values is not None else None
        result = self._run_sync(args, kwargs)
        if not self._check_predicates_sync(result) or tokens is None:
            return result, None
        if isinstance(result, SimpleTemplateResponse) and not result.is_rendered:
            result.add_post_render_callback(
                lambda rendered: self._store_sync(cache, plan, rendered, tokens) and None
            )
            return result, None
        return result, self._store_sync(cache, plan, result, tokens)

    def _store_sync(
        self, cache: BaseCache, plan: Plan, result: Any, tokens: tuple[str, ...]
    ) -> Metadata | None:
        value = self._storable(result)
        if value is _NO_STORE:
            return None
        env = storage.store(cache, self.cache_alias, plan, value, tokens)
        return make_metadata(env, _MISS) if env is not None else None

    def _locked_compute(
        self, cache: BaseCache, plan: Plan, args: tuple[Any, ...], kwargs: dict[str, Any], meta: bool
    ) -> tuple[Any, Metadata | None]:
        alias = self.cache_alias
        name = storage.lock_key(plan.key)
        token = secrets.token_hex(8)
        timeout = max(1, math.ceil(self.lock_timeout))
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.002
        while True:
            acquired = storage.acquire_lock(cache, alias, name, token, timeout, plan.version)
            if acquired is None:
                return self._run_sync(args, kwargs), None
            values = storage.read(cache, alias, plan.keys, plan.version)
            if values is None:
                return self._run_sync(args, kwargs), None
            env = valid_envelope(values, plan)
            if env is not None:
                if acquired:
                    storage.release_lock(cache, alias, name, token, plan.version)
                return self._from_stored(env[1]), make_metadata(env, _HIT) if meta else None
            if acquired:
                try:
                    return self._compute(cache, plan, values, args, kwargs)
                finally:
                    storage.release_lock(cache, alias, name, token, plan.version)
            if time.monotonic() >= deadline:
                return self._compute(cache, plan, values, args, kwargs)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)

    # -- async engine --------------------------------------------------------------------
    async def _alookup(self, args: tuple[Any, ...], kwargs: dict[str, Any], meta: bool) -> Any:
        if self._bypass(args, kwargs):
            return await self._run_async(args, kwargs), None
        plan = self._plan(args, kwargs)
        cache = storage.get_cache(self.cache_alias)
        values = await storage.aread(cache, self.cache_alias, plan.keys, plan.version)
        if values is not None:
            env = valid_envelope(values, plan)
            if env is not None:
                return self._from_stored(env[1]), make_metadata(env, _HIT) if meta else None
            if self.lock:
                return await self._alocked_compute(cache, plan, args, kwargs, meta)
        return await self._acompute(cache, plan, values, args, kwargs)

    async def _acompute(
        self,
        cache: BaseCache,
        plan: Plan,
        values: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[Any, Metadata | None]:
        alias = self.cache_alias
        tokens = None
        if values is not None:
            tokens = await storage.aprepare(cache, alias, plan, values)
        result = await self._run_async(args, kwargs)
        if not await self._check_predicates_async(result) or tokens is None:
            return result, None
        if isinstance(result, SimpleTemplateResponse) and not result.is_rendered:
            result.add_post_render_callback(
                lambda rendered: self._store_sync(cache, plan, rendered, tokens) and None
            )
            return result, None
        value = self._storable(result)
        if value is _NO_STORE:
            return result, None
        env = await storage.astore(cache, alias, plan, value, tokens)
        return result, make_metadata(env, _MISS) if env is not None else None

    async def _alocked_compute(
        self, cache: BaseCache, plan: Plan, args: tuple[Any, ...], kwargs: dict[str, Any], meta: bool
    ) -> tuple[Any, Metadata | None]:
        alias = self.cache_alias
        name = storage.lock_key(plan.key)
        token = secrets.token_hex(8)
        timeout = max(1, math.ceil(self.lock_timeout))
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.002
        while True:
            acquired = await storage.aacquire_lock(cache, alias, name, token, timeout, plan.version)
            if acquired is None:
                return await self._run_async(args, kwargs), None
            values = await storage.aread(cache, alias, plan.keys, plan.version)
            if values is None:
                return await self._run_async(args, kwargs), None
            env = valid_envelope(values, plan)
            if env is not None:
                if acquired:
                    await storage.arelease_lock(cache, alias, name, token, plan.version)
                return self._from_stored(env[1]), make_metadata(env, _HIT) if meta else None
            if acquired:
                try:
                    return await self._acompute(cache, plan, values, args, kwargs)
                finally:
                    await storage.arelease_lock(cache, alias, name, token, plan.version)
            if time.monotonic() >= deadline:
                return await self._acompute(cache, plan, values, args, kwargs)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.05)

    # -- public API ----------------------------------------------------------------------
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        if self.is_async:
            return self._acall(args, kwargs)  # type: ignore[return-value]
        result, metadata = self._lookup(args, kwargs, self._want_meta)
        return self._deliver(result, metadata)

    async def _acall(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result, metadata = await self._alookup(args, kwargs, self._want_meta)
        return self._deliver(result, metadata)

    def _require_sync(self, name: str) -> None:
        if self.is_async:
            raise TypeError(
                f"{self.func.__qualname__} is an async function: use "
                f"`await {self.func.__name__}.a{name}(...)` instead of {name}()"
            )

    def _require_async(self, name: str) -> None:
        if not self.is_async:
            raise TypeError(
                f"{self.func.__qualname__} is a sync function: use {name}() "
                f"instead of a{name}()"
            )

    def get_with_metadata(self, *args: P.args, **kwargs: P.kwargs) -> tuple[T, Metadata | None]:
        """``(value, metadata)``; ``metadata`` is ``None`` when the value was not stored."""
        self._require_sync("get_with_metadata")
        result, metadata = self._lookup(args, kwargs, True)
        return self._deliver(result, metadata), metadata

    async def aget_with_metadata(self, *args: Any, **kwargs: Any) -> tuple[Any, Metadata | None]:
        self._require_async("get_with_metadata")
        result, metadata = await self._alookup(args, kwargs, True)
        return self._deliver(result, metadata), metadata

    def _cached_env(self, values: dict[str, Any] | None, plan: Plan) -> tuple[Any, ...] | None:
        return valid_envelope(values, plan) if values is not None else None

    def get_cache_only(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """The cached value, or :data:`CACHE_MISSING`; never calls the function."""
        self._require_sync("get_cache_only")
        plan = self._plan(args, kwargs)
        env = self._cached_env(
            storage.read(self._cache(), self.cache_alias, plan.keys, plan.version), plan
        )
        return CACHE_MISSING if env is None else env[1]

    async def aget_cache_only(self, *args: Any, **kwargs: Any) -> Any:
        plan = self._plan(args, kwargs)
        values = await storage.aread(self._cache(), self.cache_alias, plan.keys, plan.version)
        env = self._cached_env(values, plan)
        return CACHE_MISSING if env is None else env[1]

    def get_cached_metadata(self, *args: P.args, **kwargs: P.kwargs) -> Metadata | None:
        self._require_sync("get_cached_metadata")
        plan = self._plan(args, kwargs)
        env = self._cached_env(
            storage.read(self._cache(), self.cache_alias, plan.keys, plan.version), plan
        )
        return None if env is None else make_metadata(env, _HIT)

    async def aget_cached_metadata(self, *args: Any, **kwargs: Any) -> Metadata | None:
        plan = self._plan(args, kwargs)
        values = await storage.aread(self._cache(), self.cache_alias, plan.keys, plan.version)
        env = self._cached_env(values, plan)
        return None if env is None else make_metadata(env, _HIT)

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Recompute, store (if the predicates allow) and return the fresh value."""
        self._require_sync("refresh")
        plan = self._plan(args, kwargs)
        cache = self._cache()
        values = storage.read(cache, self.cache_alias, plan.scopes, plan.version)
        result, metadata = self._compute(cache, plan, values, args, kwargs)
        return self._deliver(result, metadata)

    async def arefresh(self, *args: Any, **kwargs: Any) -> Any:
        self._require_async("refresh")
        plan = self._plan(args, kwargs)
        cache = self._cache()
        values = await storage.aread(cache, self.cache_alias, plan.scopes, plan.version)
        result, metadata = await self._acompute(cache, plan, values, args, kwargs)
        return self._deliver(result, metadata)

    def bypass_cache(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the function without reading or writing the cache."""
        self._require_sync("bypass_cache")
        return self._run_sync(args, kwargs)

    async def abypass_cache(self, *args: Any, **kwargs: Any) -> Any:
        self._require_async("bypass_cache")
        return await self._run_async(args, kwargs)

    def delete_cache(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Invalidate exactly the entry of these arguments (and delete it)."""
        self._require_sync("delete_cache")
        plan = self._plan(args, kwargs)
        storage.bump_targets(
            [(self.cache_alias, self._version, plan.scopes[-1], storage.scope_life(self.ttl))]
        )
        storage.delete_entry(self.cache_alias, plan.key, self._version)

    async def adelete_cache(self, *args: Any, **kwargs: Any) -> None:
        plan = self._plan(args, kwargs)
        await storage.abump_targets(
            [(self.cache_alias, self._version, plan.scopes[-1], storage.scope_life(self.ttl))]
        )
        await storage.adelete_entry(self.cache_alias, plan.key, self._version)

    def delete_by_prefix(self, *args: Any, **kwargs: Any) -> None:
        """Invalidate the partition given by the partition fields' arguments.

        Without partition values (or partition fields) the whole function is invalidated.
        One cache write, independent of the number of entries.
        """
        self._require_sync("delete_by_prefix")
        storage.bump_targets([self.invalidation_target(args, kwargs)])

    async def adelete_by_prefix(self, *args: Any, **kwargs: Any) -> None:
        await storage.abump_targets([self.invalidation_target(args, kwargs)])

    def invalidate_all(self) -> None:
        """Invalidate every entry of this function (one cache write)."""
        self._require_sync("invalidate_all")
        storage.bump_targets([self.invalidation_target(None, None)])

    async def ainvalidate_all(self) -> None:
        await storage.abump_targets([self.invalidation_target(None, None)])


def cache_result(
    key_constructor: KeyConstructorSpec = DefaultKeyConstructor,
    ttl: int | None = 3600,
    invalidates_on: list[Any] | None = None,
    cache_if: Callable[[Any], Any] | None = None,
    cache_unless: Callable[[Any], Any] | None = None,
    *,
    lock: bool = False,
    lock_timeout: float = 10.0,
    cache_alias: str = "default",
) -> Callable[[Callable[P, T]], CachedWrapper[P, T]]:
    """Cache a function's results (sync or async).

    ``lock=True`` makes concurrent misses of one key compute once: the others wait (at
    most ``lock_timeout`` seconds, also the lock's expiry) and read the stored result.
    """

    def decorate(func: Callable[P, T]) -> CachedWrapper[P, T]:
        return CachedWrapper(
            func,
            key_constructor,
            ttl,
            invalidates_on,
            cache_if,
            cache_unless,
            lock=lock,
            lock_timeout=lock_timeout,
            cache_alias=cache_alias,
        )

    return decorate


def set_response_cache_header(response: Any, metadata: Metadata | None) -> Any:
    """Write ``X-Cache-status``, ``X-Cached-at`` and ``X-Cache-reset-at`` from metadata."""
    if not metadata:
        return response
    for header, key in (
        ("X-Cached-at", "cached_at"),
        ("X-Cache-reset-at", "cache_reset_at"),
        ("X-Cache-status", "cache_status"),
    ):
        value = metadata.get(key)
        if value:
            response[header] = getattr(value, "value", value)
    return response

