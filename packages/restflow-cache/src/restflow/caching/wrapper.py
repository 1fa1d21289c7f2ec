"""``cache_result`` and :class:`CachedWrapper` (docs/caching.md, Cached functions)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypedDict, TypeVar, Unpack

from restflow.caching import envelope, scopes, tokens
from restflow.caching._binding import parameter_names
from restflow.caching._engine import _HIT, NO_STORE, CacheEngine, Metadata
from restflow.caching.constants import CACHE_MISSING
from restflow.caching.envelope import Plan, make_metadata, valid_envelope
from restflow.caching.key_constructor import (
    DefaultKeyConstructor,
    InlineKeyConstructor,
    KeyConstructor,
)
from restflow.caching.plan_memo import Memo
from restflow.caching.registry import CacheRegister
from restflow.caching.response_store import set_response_cache_header

__all__ = ["CacheOptions", "CachedWrapper", "cache_result", "set_response_cache_header"]

P = ParamSpec("P")
T = TypeVar("T")
KeyConstructorSpec = type[KeyConstructor] | KeyConstructor | dict[str, Any]
_NO_STORE = NO_STORE  # the value ``_storable`` returns to refuse storage


class CacheOptions(TypedDict, total=False):
    """The keyword-only options a decorator passes on to its wrapper unchanged (their
    defaults are the wrapper's: ``lock=False``, ``lock_timeout=10.0``,
    ``cache_alias="default"``)."""

    lock: bool
    lock_timeout: float
    cache_alias: str


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


class CachedWrapper(CacheEngine, Generic[P, T]):
    """A cached function. Calls go through the cache; management methods below.

    Hits cost one ``get_many`` round trip (entry + scope tokens). Sync methods raise
    ``TypeError`` on an async function and name their ``a``-prefixed twin.
    """

    is_cached_function = True

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
        self._fn_scope = scopes.function_scope(self._prefix)
        self._static_scopes = [scopes.namespace_scope(namespace)] if namespace else []
        self._static_scopes.append(self._fn_scope)
        self._has_partition = bool(constructor._partition_fields)
        # Plans of calls with plain int/str/None arguments are memoized when the key
        # depends only on argument values (cleared when RESTFLOW_SETTINGS changes).
        self._memo = Memo() if constructor.is_pure else None
        self._targets = Memo()
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

    def _rule_parameters(self) -> tuple[str, ...]:
        """Parameters a rule must map (or replace with an invalidator) to target entries."""
        return parameter_names(self.func)

    def _register_rules(self) -> None:
        if not self.invalidates_on:
            return
        params = self._rule_parameters()
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
        for rule in self.invalidates_on:
            CacheRegister.add(model=rule.model, func=self, invalidation_rule=rule)

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
            envelope.read(self._cache(), self.cache_alias, plan.keys, plan.version), plan
        )
        return CACHE_MISSING if env is None else env[1]

    async def aget_cache_only(self, *args: Any, **kwargs: Any) -> Any:
        plan = self._plan(args, kwargs)
        values = await envelope.aread(self._cache(), self.cache_alias, plan.keys, plan.version)
        env = self._cached_env(values, plan)
        return CACHE_MISSING if env is None else env[1]

    def get_cached_metadata(self, *args: P.args, **kwargs: P.kwargs) -> Metadata | None:
        self._require_sync("get_cached_metadata")
        plan = self._plan(args, kwargs)
        env = self._cached_env(
            envelope.read(self._cache(), self.cache_alias, plan.keys, plan.version), plan
        )
        return None if env is None else make_metadata(env, _HIT)

    async def aget_cached_metadata(self, *args: Any, **kwargs: Any) -> Metadata | None:
        plan = self._plan(args, kwargs)
        values = await envelope.aread(self._cache(), self.cache_alias, plan.keys, plan.version)
        env = self._cached_env(values, plan)
        return None if env is None else make_metadata(env, _HIT)

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Recompute, store (if the predicates allow) and return the fresh value."""
        self._require_sync("refresh")
        plan = self._plan(args, kwargs)
        cache = self._cache()
        values = envelope.read(cache, self.cache_alias, plan.scopes, plan.version)
        result, metadata = self._compute(cache, plan, values, args, kwargs)
        return self._deliver(result, metadata)

    async def arefresh(self, *args: Any, **kwargs: Any) -> Any:
        self._require_async("refresh")
        plan = self._plan(args, kwargs)
        cache = self._cache()
        values = await envelope.aread(cache, self.cache_alias, plan.scopes, plan.version)
        result, metadata = await self._acompute(cache, plan, values, args, kwargs)
        return self._deliver(result, metadata)

    def bypass_cache(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the function without reading or writing the cache."""
        self._require_sync("bypass_cache")
        return self._run_sync(args, kwargs)

    async def abypass_cache(self, *args: Any, **kwargs: Any) -> Any:
        self._require_async("bypass_cache")
        return await self._run_async(args, kwargs)

    def _key_target(self, plan: Plan) -> scopes.Target:
        """The key scope of ``plan`` (the last of its scopes), to bump."""
        return (self.cache_alias, self._version, plan.scopes[-1], tokens.scope_life(self.ttl))

    def delete_cache(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Invalidate exactly the entry of these arguments (and delete it)."""
        self._require_sync("delete_cache")
        plan = self._plan(args, kwargs)
        scopes.bump_targets([self._key_target(plan)])
        envelope.delete_entry(self.cache_alias, plan.key, self._version)

    async def adelete_cache(self, *args: Any, **kwargs: Any) -> None:
        plan = self._plan(args, kwargs)
        await scopes.abump_targets([self._key_target(plan)])
        await envelope.adelete_entry(self.cache_alias, plan.key, self._version)

    def delete_by_prefix(self, *args: Any, **kwargs: Any) -> None:
        """Invalidate the partition given by the partition fields' arguments.

        Without partition values (or partition fields) the whole function is invalidated.
        One cache write, independent of the number of entries.
        """
        self._require_sync("delete_by_prefix")
        scopes.bump_targets([self.invalidation_target(args, kwargs)])

    async def adelete_by_prefix(self, *args: Any, **kwargs: Any) -> None:
        await scopes.abump_targets([self.invalidation_target(args, kwargs)])

    def invalidate_all(self) -> None:
        """Invalidate every entry of this function (one cache write)."""
        self._require_sync("invalidate_all")
        scopes.bump_targets([self.invalidation_target(None, None)])

    async def ainvalidate_all(self) -> None:
        await scopes.abump_targets([self.invalidation_target(None, None)])


def cache_result(
    key_constructor: KeyConstructorSpec = DefaultKeyConstructor,
    ttl: int | None = 3600,
    invalidates_on: list[Any] | None = None,
    cache_if: Callable[[Any], Any] | None = None,
    cache_unless: Callable[[Any], Any] | None = None,
    **options: Unpack[CacheOptions],
) -> Callable[[Callable[P, T]], CachedWrapper[P, T]]:
    """Cache a function's results (sync or async).

    ``lock=True`` makes concurrent misses of one key compute once: the others wait (at
    most ``lock_timeout`` seconds, also the lock's expiry) and read the stored result.
    ``cache_alias`` names the Django cache (``"default"``).
    """

    def decorate(func: Callable[P, T]) -> CachedWrapper[P, T]:
        return CachedWrapper(func, key_constructor, ttl, invalidates_on, cache_if, cache_unless, **options)

    return decorate
