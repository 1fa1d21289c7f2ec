"""Property tests: injective keys, prefix-free partitions, memcached-safe keys."""

from __future__ import annotations

import warnings
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning, memcache_key_warnings
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restflow.caching import CACHE_MISSING, ArgsKeyField, DefaultKeyConstructor, KeyConstructor, cache_result

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["null", "", "4", "42", "4*", "a:b", "a::b", "x||y", "[1]", "{}", '""', "%25"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
    ),
    max_leaves=8,
)
NO_OVERFLOW = {"CACHE_SETTINGS": {"MAX_KEY_SUFFIX_LENGTH": 10**9}}


def identity(value: Any) -> Any:
    """What restflow promises to distinguish: scalars by their text (1 == "1" by policy),
    ``None`` apart from every string, containers by kind, order (lists) and content."""
    if value is None:
        return ("none",)
    if isinstance(value, list | tuple):
        return ("list", tuple(identity(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), identity(v)) for k, v in value.items())))
    return ("scalar", str(value))


def target(x: Any, y: Any = None) -> None: ...


class Partitioned(KeyConstructor):
    x = ArgsKeyField("x", partition=True)
    y = ArgsKeyField("y")


@settings(max_examples=200, deadline=None)
@given(values, values, values, values)
def test_distinct_arguments_give_distinct_keys(a: Any, b: Any, c: Any, d: Any) -> None:
    with override_settings(RESTFLOW_SETTINGS=NO_OVERFLOW):
        for kc in (DefaultKeyConstructor(), Partitioned()):
            left = kc.generate_key(target, (a, b), {})
            right = kc.generate_key(target, (c, d), {})
            same = (identity(a), identity(b)) == (identity(c), identity(d))
            assert (left == right) is same, (left, right)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(scalars, min_size=2, max_size=4, unique_by=lambda v: identity(v)))
def test_prefix_deletion_touches_only_its_partition(partitions: list[Any]) -> None:
    @cache_result(Partitioned)
    def f(x: Any, y: Any = None) -> str:
        return repr(x)

    # Every example redefines ``f`` under the same name, so the entries of earlier
    # examples are still there: start each example from an empty function.
    f.invalidate_all()
    for value in partitions:
        f(value)
    target_value, *others = partitions
    f.delete_by_prefix(x=target_value)
    assert f.get_cache_only(target_value) is CACHE_MISSING
    for value in others:
        assert f.get_cache_only(value) == repr(value)


def test_partition_4_never_touches_42_or_4_star() -> None:
    @cache_result(Partitioned)
    def f(x: Any, y: Any = None) -> str:
        return str(x)

    for value in (4, 42, "4*", "44", "4 ", 4.0):
        f(value)
    f.delete_by_prefix(x=4)
    assert f.get_cache_only(4) is CACHE_MISSING
    assert [f.get_cache_only(v) for v in (42, "4*", "44", "4 ", 4.0)] == ["42", "4*", "44", "4 ", "4.0"]


@settings(max_examples=150, deadline=None)
@given(values, values, st.text(max_size=300))
def test_every_written_key_is_memcached_safe(a: Any, b: Any, long_text: str) -> None:
    cache = caches["default"]
    written: list[str] = []
    original_set, original_set_many = cache.set, cache.set_many

    def record(key: str, *args: Any, version: int | None = None, **kwargs: Any) -> Any:
        written.append(cache.make_key(key, version=version))
        return original_set(key, *args, version=version, **kwargs)

    def record_many(data: dict[str, Any], *args: Any, version: int | None = None, **kwargs: Any) -> Any:
        written.extend(cache.make_key(k, version=version) for k in data)
        return original_set_many(data, *args, version=version, **kwargs)

    cache.set, cache.set_many = record, record_many  # type: ignore[method-assign]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", CacheKeyWarning)

            @cache_result(Partitioned)
            def f(x: Any, y: Any = None) -> int:
                return 1

            f(a, b)
            f(long_text, a)
            f.delete_cache(b, long_text)
            f.delete_by_prefix(x=long_text)
    finally:
        del cache.set, cache.set_many
    assert written
    for key in written:
        assert len(key.encode("utf-8")) <= 250, key
        assert list(memcache_key_warnings(key)) == [], key
