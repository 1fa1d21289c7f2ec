"""``cache_result`` on sync functions: every method of a cached function (docs/caching.md,
Cached functions)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from restflow.caching import (
    CACHE_MISSING,
    ArgsKeyField,
    CachedWrapper,
    CacheStatus,
    ConstantKeyField,
    KeyConstructor,
    cache_result,
)


class UserKey(KeyConstructor):
    user = ArgsKeyField("user_id", partition=True)
    page = ArgsKeyField("page")


def counted(calls: Counter[str], name: str, value: Any) -> Any:
    calls[name] += 1
    return value


class TestCalling:
    def test_second_call_hits(self) -> None:
        calls: Counter[str] = Counter()

        @cache_result()
        def add(a: int, b: int) -> int:
            return counted(calls, "add", a + b)

        assert add(1, 2) == 3
        assert add(1, 2) == 3
        assert add(2, 1) == 3
        assert calls["add"] == 2
        assert add.is_cached_function is True
        assert add.__name__ == "add"

    @pytest.mark.parametrize("value", [None, [], {}, 0, ""])
    def test_falsy_values_are_cached(self, value: Any) -> None:
        calls: Counter[str] = Counter()

        @cache_result()
        def f() -> Any:
            return counted(calls, "f", value)

        assert f() == value
        assert f() == value
        assert calls["f"] == 1

    def test_distinct_functions_do_not_share(self) -> None:
        @cache_result()
        def one(x: int) -> str:
            return "one"

        @cache_result()
        def two(x: int) -> str:
            return "two"

        assert (one(1), two(1)) == ("one", "two")

    def test_none_and_null_string_do_not_share(self) -> None:
        @cache_result()
        def echo(x: Any) -> Any:
            return x

        assert echo(None) is None
        assert echo("null") == "null"
        assert echo(None) is None

    def test_invalid_constructor(self) -> None:
        for bad in (1, "UserKey"):
            with pytest.raises(ValueError, match="Invalid KeyConstructor"):
                cache_result(bad)(lambda: 1)  # type: ignore[arg-type]

    def test_instance_and_dict_constructors(self) -> None:
        @cache_result(UserKey())
        def by_instance(user_id: int, page: int = 1) -> int:
            return user_id

        @cache_result({"fields": {"c": ConstantKeyField("v", 1)}, "namespace": "ns"})
        def by_dict() -> str:
            return "x"

        assert by_instance(1) == 1
        assert by_dict() == "x"
        assert by_dict.get_cache_key().startswith("ns::")

    def test_both_predicates_rejected(self) -> None:
        with pytest.raises(ValueError, match="mutually exclusive"):
            cache_result(cache_if=bool, cache_unless=bool)(lambda: 1)

    def test_get_cache_key(self) -> None:
        @cache_result()
        def hello(x: int) -> int:
            return x

        key = hello.get_cache_key(1)
        assert key == hello.get_cache_key(1)
        assert key != hello.get_cache_key(2)
        assert "hello" in key
        assert ":" in key
        assert cache.get(key, version=1) is None  # get_cache_key does not write

    def test_raw_value_at_key_is_a_miss(self) -> None:
        calls: Counter[str] = Counter()

        @cache_result()
        def f(x: int) -> str:
            return counted(calls, "f", "computed")

        cache.set(f.get_cache_key(1), "planted", version=1)
        assert f(1) == "computed"
        assert f(1) == "computed"
        assert calls["f"] == 1


class TestMethods:
    def test_metadata_miss_then_hit(self) -> None:
        @cache_result(ttl=60)
        def f(x: int) -> int:
            return x * 2

        assert f.get_cached_metadata(2) is None
        value, meta = f.get_with_metadata(2)
        assert value == 4
        assert meta is not None
        assert meta["cache_status"] == CacheStatus.MISS == "MISS"
        value, meta = f.get_with_metadata(2)
        assert meta is not None
        assert meta["cache_status"] == "HIT"
        assert meta["cached_at"] < meta["cache_reset_at"]
        cached = f.get_cached_metadata(2)
        assert cached is not None
        assert cached["cached_at"] == meta["cached_at"]
        assert f.get_cache_only(2) == 4

    def test_no_ttl_has_no_reset(self) -> None:
        @cache_result(ttl=None)
        def f() -> int:
            return 1

        _, meta = f.get_with_metadata()
        assert meta is not None
        assert meta["cache_reset_at"] is None

    def test_cache_only_never_calls(self) -> None:
        calls: Counter[str] = Counter()

        @cache_result()
        def f(x: int) -> int:
            return counted(calls, "f", x)

        assert f.get_cache_only(1) is CACHE_MISSING
        assert calls["f"] == 0

    def test_refresh_recomputes(self) -> None:
        state = {"v": 1}

        @cache_result()
        def f() -> int:
            return state["v"]

        assert f() == 1
        state["v"] = 2
        assert f() == 1
        assert f.refresh() == 2
        assert f() == 2

    def test_bypass_neither_reads_nor_writes(self) -> None:
        state = {"v": 1}

        @cache_result()
        def f() -> int:
            return state["v"]

        assert f.bypass_cache() == 1
        assert f.get_cache_only() is CACHE_MISSING
        f()
        state["v"] = 3
        assert f.bypass_cache() == 3

    def test_delete_cache_only_that_key(self) -> None:
        calls: Counter[str] = Counter()

        @cache_result(UserKey)
        def f(user_id: int, page: int = 1) -> tuple[int, int]:
            return counted(calls, f"{user_id}/{page}", (user_id, page))

        f(1, 1)
        f(1, 2)
        f.delete_cache(1, 1)
        assert f.get_cache_only(1, 1) is CACHE_MISSING
        assert f.get_cache_only(1, 2) == (1, 2)

    def test_delete_by_prefix_partitions(self) -> None:
        @cache_result(UserKey)
        def f(user_id: int, page: int = 1) -> tuple[int, int]:
            return (user_id, page)

        for user in (1, 2, 10):
            f(user, 1)
            f(user, 2)
        f.delete_by_prefix(user_id=1)
        assert f.get_cache_only(1, 1) is CACHE_MISSING
        assert f.get_cache_only(1, 2) is CACHE_MISSING
        assert f.get_cache_only(2, 1) == (2, 1)
        assert f.get_cache_only(10, 1) == (10, 1)
        f.delete_by_prefix()
        assert f.get_cache_only(2, 1) is CACHE_MISSING
        assert f.get_cache_only(10, 2) is CACHE_MISSING

    def test_delete_by_prefix_keyword_among_many(self) -> None:
        class Multi(KeyConstructor):
            a = ArgsKeyField("a")
            c = ArgsKeyField("c", partition=True)

        @cache_result(Multi)
        def f(a: int, b: int, c: int, d: int) -> int:
            return a + b + c + d

        f(1, 1, 3, 1)
        f(1, 1, 4, 1)
        f.delete_by_prefix(c=3)
        assert f.get_cache_only(1, 1, 3, 1) is CACHE_MISSING
        assert f.get_cache_only(1, 1, 4, 1) == 7

    def test_constant_constructor_prefix_clears_all(self) -> None:
        class Constant(KeyConstructor):
            c = ConstantKeyField("v", 1)

        @cache_result(Constant)
        def f(x: int) -> int:
            return x

        f(1)
        f.delete_by_prefix(7)
        assert f.get_cache_only(1) is CACHE_MISSING

    def test_invalidate_all_spares_other_wrappers(self) -> None:
        @cache_result(UserKey)
        def f(user_id: int, page: int = 1) -> int:
            return user_id

        @cache_result(UserKey)
        def g(user_id: int, page: int = 1) -> int:
            return -user_id

        f(1)
        f(2)
        g(1)
        f.invalidate_all()
        assert f.get_cache_only(1) is CACHE_MISSING
        assert f.get_cache_only(2) is CACHE_MISSING
        assert g.get_cache_only(1) == -1

    def test_version_is_django_version(self) -> None:
        class V3(KeyConstructor):
            a = ArgsKeyField("a", partition=True)

            class Meta:
                version = 3

        @cache_result(V3)
        def f(a: int) -> int:
            return a

        f(1)
        assert f.get_key_version() == 3
        assert cache.get(f.get_cache_key(1), version=3) is not None
        f.delete_cache(1)
        assert f.get_cache_only(1) is CACHE_MISSING
        f(1)
        f.delete_by_prefix(a=1)
        assert f.get_cache_only(1) is CACHE_MISSING


class TestPredicates:
    def test_cache_if(self) -> None:
        seen: list[Any] = []

        def keep(result: Any) -> bool:
            seen.append(result)
            return bool(result)

        @cache_result(cache_if=keep)
        def f(x: int) -> int:
            return x

        assert f(0) == 0
        assert f.get_cache_only(0) is CACHE_MISSING
        assert f(5) == 5
        assert f.get_cache_only(5) == 5
        assert seen == [0, 5]

    def test_cache_unless(self) -> None:
        @cache_result(cache_unless=lambda r: r is None or r == {})
        def f(x: Any) -> Any:
            return x

        for value, stored in ((None, False), ({}, False), ({"a": 1}, True), (3, True)):
            f(value)
            assert (f.get_cache_only(value) is not CACHE_MISSING) is stored

    def test_not_stored_gives_no_metadata(self) -> None:
        @cache_result(cache_if=lambda r: False)
        def f() -> int:
            return 1

        assert f.get_with_metadata() == (1, None)

    def test_async_predicate_on_sync_function(self) -> None:
        async def predicate(result: Any) -> bool:
            return True

        @cache_result(cache_if=predicate)
        def f() -> int:
            return 1

        with pytest.raises(TypeError, match="async predicate"):
            f()
        assert f.get_cache_only() is CACHE_MISSING


class TestDescriptor:
    def test_class_access_returns_wrapper(self) -> None:
        class Service:
            def __init__(self, factor: int) -> None:
                self.factor = factor

            def __str__(self) -> str:
                return f"Service({self.factor})"

            @cache_result()
            def scale(self, x: int) -> int:
                return x * self.factor

        assert Service.scale is Service.__dict__["scale"]
        assert isinstance(Service.scale, CachedWrapper)
        service = Service(3)
        assert service.scale(2) == 6
        assert Service.scale.get_cache_only(service, 2) == 6
        Service.scale.delete_cache(service, 2)
        assert Service.scale.get_cache_only(service, 2) is CACHE_MISSING

    def test_methods_of_one_class_are_independent(self) -> None:
        class View:
            def __str__(self) -> str:
                return "view"

            @cache_result()
            def get(self) -> str:
                return "get"

            @cache_result()
            def post(self) -> str:
                return "post"

        view = View()
        assert (view.get(), view.post()) == ("get", "post")
        assert View.get.get_cache_key(view) != View.post.get_cache_key(view)


class TestTemplateResponses:
    def test_unrendered_response_stored_after_render(self) -> None:
        @cache_result()
        def f() -> Response:
            response = Response({"a": 1})
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
            response.renderer_context = {}
            return response

        first = f()
        assert f.get_cache_only() is CACHE_MISSING
        first.render()
        stored = f.get_cache_only()
        assert stored is not CACHE_MISSING
        assert stored.content == b'{"a":1}'


class TestRules:
    def test_rule_without_mapping_on_function_with_parameters(self) -> None:
        from cache_testapp.models import Author

        from restflow.caching.rules import InvalidationRule

        with pytest.raises(ValueError, match="must declare either") as info:

            @cache_result(invalidates_on=[InvalidationRule(model=Author)])
            def by_author(author_id: int, page: int = 1) -> int:
                return author_id

        assert "author_id, page" in str(info.value)

    def test_rule_with_mapping_is_registered(
        self, db: None, django_capture_on_commit_callbacks: Any
    ) -> None:
        from cache_testapp.models import Author

        from restflow.caching.rules import InvalidationRule

        rule = InvalidationRule(model=Author, field_mapping={"user_id": "pk"})

        @cache_result(UserKey, invalidates_on=[rule])
        def by_author(user_id: int, page: int = 1) -> str:
            return Author.objects.get(pk=user_id).name

        author = Author.objects.create(name="Ann")
        other = Author.objects.create(name="Bob")
        assert by_author(author.pk) == "Ann"
        assert by_author(other.pk) == "Bob"
        with django_capture_on_commit_callbacks(execute=True):
            author.name = "Anne"
            author.save()
        assert by_author.get_cache_only(author.pk) is CACHE_MISSING
        assert by_author.get_cache_only(other.pk) == "Bob"
        assert by_author(author.pk) == "Anne"


class TestKeyMemo:
    def test_settings_change_rebuilds_memoized_keys(self) -> None:
        from django.test import override_settings

        from restflow.caching import InlineKeyConstructor

        kc = InlineKeyConstructor({"a": ArgsKeyField("a", hash_value=True)})

        @cache_result(kc)
        def f(a: int) -> int:
            return a

        assert f(1) == 1
        sha_key = f.get_cache_key(1)
        with override_settings(
            RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"KEY_HASH_ALGORITHM": "blake2b"}}
        ):
            blake_key = f.get_cache_key(1)
            assert blake_key != sha_key
            assert f.get_cache_only(1) is CACHE_MISSING  # looked up under the new key
            assert f(1) == 1
            assert cache.get(blake_key, version=1) is not None
        assert f.get_cache_only(1) == 1  # back to the old key, still cached

    def test_caches_change_reaches_memoized_plans_and_backends(self) -> None:
        from django.conf import settings
        from django.test import override_settings

        calls: Counter[str] = Counter()

        @cache_result()
        def f(a: int) -> int:
            return counted(calls, "f", a)

        assert f(1) == 1
        assert f(1) == 1
        assert calls["f"] == 1
        other = {
            **settings.CACHES,
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "restflow-test-other",
                "KEY_PREFIX": "other",
            },
        }
        with override_settings(CACHES=other):
            assert f.get_cache_only(1) is CACHE_MISSING  # the new backend is read
            assert f(1) == 1
            assert calls["f"] == 2
            assert f(1) == 1
            assert calls["f"] == 2
        assert f(1) == 1  # the first backend again, its entry intact
        assert calls["f"] == 2

    def test_equal_but_differently_typed_arguments_do_not_share_plans(self) -> None:
        @cache_result()
        def f(a: object) -> str:
            return repr(a)

        assert f(1) == "1"
        assert f(True) == "True"
        assert f("1") == "1"  # 1 and "1" share an entry by policy
        assert f(1.0) == "1.0"
