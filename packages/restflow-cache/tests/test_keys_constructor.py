"""Key constructors: declaration, Meta, key anatomy, overflow (docs/caching.md, Keys)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from django.http import QueryDict
from django.test import override_settings

from restflow.caching import (
    ArgsKeyField,
    ConstantKeyField,
    DefaultKeyConstructor,
    InlineKeyConstructor,
    KeyConstructor,
    QueryParamsKeyField,
    RequestValueKeyField,
    cache_result,
)
from restflow.caching.hashing import hash_string
from restflow.caching.wipe import wrappers_of


def list_orders(tenant_id: int, page: int = 1, size: int = 20) -> None: ...


def view(request: Any) -> None: ...


class OrderListKey(KeyConstructor):
    tenant = ArgsKeyField("tenant_id", partition=True)
    page = ArgsKeyField(["page", "size"])
    schema = ConstantKeyField("schema", "3")
    not_a_field = 5

    class Meta:
        namespace = "orders"
        version = 2


class TestDeclaration:
    def test_only_fields_are_declared(self) -> None:
        assert set(OrderListKey._declared_fields) == {"tenant", "page", "schema"}
        assert OrderListKey.not_a_field == 5
        assert not hasattr(OrderListKey, "tenant")

    def test_subclass_replaces_field(self) -> None:
        class Child(OrderListKey):
            page = ArgsKeyField("page")

        assert Child._declared_fields["page"].arguments == "page"
        assert Child._meta.namespace == "orders"
        assert Child().get_version() == 2

    def test_wrapper_lists_are_per_class(self) -> None:
        class Parent(KeyConstructor):
            pass

        class Child(Parent):
            pass

        @cache_result(Parent)
        def f() -> int:
            return 1

        assert wrappers_of(Parent) == [f]
        assert wrappers_of(Child) == []

    def test_fields_are_fresh_copies(self) -> None:
        kc = OrderListKey()
        assert kc.get_fields()["page"] is not kc.get_fields()["page"]
        assert kc.fields["page"] is not OrderListKey._declared_fields["page"]

    def test_default_constructor(self) -> None:
        field = DefaultKeyConstructor._declared_fields["arguments"]
        assert isinstance(field, ArgsKeyField)
        assert field.arguments == "*"

    @pytest.mark.parametrize(
        ("option", "value", "message"),
        [
            ("version", 1.5, "version must be an integer"),
            ("namespace", 3, "namespace must be a string"),
            ("key_identifier", 3, "key_identifier must be a string"),
        ],
    )
    def test_meta_validated_at_class_creation(self, option: str, value: Any, message: str) -> None:
        with pytest.raises(TypeError, match=message):
            type(KeyConstructor)("Bad", (KeyConstructor,), {"Meta": type("Meta", (), {option: value})})

    def test_meta_validated_on_read(self) -> None:
        class BadLength(KeyConstructor):
            class Meta:
                max_key_suffix_length = "long"

        class BadHash(KeyConstructor):
            class Meta:
                hash_suffix_on_overflow = "yes"

        with pytest.raises(TypeError, match="max_key_suffix_length must be an integer"):
            _ = BadLength._meta.max_key_suffix_length
        with pytest.raises(TypeError, match="hash_suffix_on_overflow must be a boolean"):
            _ = BadHash._meta.hash_suffix_on_overflow

    def test_unknown_meta_options_are_refused(self) -> None:
        with pytest.raises(TypeError, match="'namspace', 'verison'"):

            class Typo(KeyConstructor):
                class Meta:
                    namspace = "orders"
                    verison = 2

    def test_unknown_constructor_arguments_are_refused(self) -> None:
        with pytest.raises(TypeError, match="verison"):
            InlineKeyConstructor({}, verison=2)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="partiton"):
            DefaultKeyConstructor(partiton=True)  # type: ignore[call-arg]

    def test_none_removes_an_inherited_field(self) -> None:
        from restflow.caching import ResponseCacheKeyConstructor

        class NoHost(ResponseCacheKeyConstructor):
            host = None

        assert "host" in ResponseCacheKeyConstructor._declared_fields
        assert set(NoHost._declared_fields) == {"query_params", "path_params", "renderer"}
        assert not hasattr(NoHost, "host")

    def test_digit_string_version(self) -> None:
        class Seven(KeyConstructor):
            class Meta:
                version = "7"

        assert Seven().get_version() == 7


class TestAnatomy:
    def test_documented_example(self) -> None:
        key = OrderListKey().generate_key(list_orders, (7,), {"page": 2})
        assert key == f"orders::{__name__}.list_orders::tenant_id:7::page:2||size:20::schema:3"

    def test_query_shape_with_and_without_namespace(self) -> None:
        fields = {
            "constant": ConstantKeyField("version", "1.0"),
            "params": QueryParamsKeyField(["page"]),
        }
        request = SimpleNamespace(query_params=QueryDict("page=1"))
        plain = InlineKeyConstructor(fields)().generate_key(view, (request,), {})
        assert plain == f"{__name__}.view::version:1.0::page:1"
        spaced = InlineKeyConstructor(fields, namespace="namespace")()
        assert spaced.generate_key(view, (request,), {}) == f"namespace::{plain}"

    def test_prefix_with_identifier_and_user_partition(self) -> None:
        kc = InlineKeyConstructor(
            {"user": RequestValueKeyField("user.id", partition=True)},
            namespace="ns",
            key_identifier="test_prefix",
        )()
        request = SimpleNamespace(user=SimpleNamespace(pk=123, is_authenticated=True))
        prefix = kc.build_key_prefix(view, (request,), {})
        assert prefix.startswith("ns::test_prefix::")
        assert "user_id:123::" in prefix

    def test_empty_constructor_and_default(self) -> None:
        class Empty(KeyConstructor):
            pass

        assert Empty().generate_key(view, (1,), {}) == f"{__name__}.view::"

        def f(a: int, b: int) -> None: ...

        key = DefaultKeyConstructor().generate_key(f, (1, 2), {})
        assert key == f"{__name__}.TestAnatomy.test_empty_constructor_and_default.<locals>.f::a:1||b:2"

    def test_partition_empty_without_arguments(self) -> None:
        assert OrderListKey().build_partition(list_orders, None, None) == ""

    def test_inner_empty_partition_parts_stay(self) -> None:
        class Two(KeyConstructor):
            a = ArgsKeyField("missing", partition=True)
            b = ArgsKeyField("page", partition=True)

        assert Two().build_partition(list_orders, (1,), {}) == "::page:1"

    def test_key_starts_with_prefix(self) -> None:
        kc = OrderListKey()
        key = kc.generate_key(list_orders, (1,), {})
        assert key.startswith(kc.build_key_prefix(list_orders, (1,), {}))

    def test_function_identifier(self) -> None:
        class C:
            def ins(self) -> None: ...

            @classmethod
            def clsm(cls) -> None: ...

        ident = KeyConstructor.get_function_identifier
        assert ident(C().ins).endswith(".C.ins")
        assert ".C.clsm" in ident(C.clsm)
        assert ident(list_orders) == f"{__name__}.list_orders"


class TestOverflow:
    class Short(KeyConstructor):
        text = ArgsKeyField("tenant_id")

        class Meta:
            max_key_suffix_length = 20

    def test_exact_length_unchanged(self) -> None:
        kc = self.Short()
        suffix = kc.build_key_suffix(list_orders, ("x" * 10,), {})
        assert suffix == "tenant_id:" + "x" * 10

    def test_truncates_and_warns_once(self, caplog: pytest.LogCaptureFixture) -> None:
        type(self).Short._truncation_warned = False
        kc = self.Short()
        with caplog.at_level(logging.WARNING, logger="restflow.caching.keys"):
            a = kc.build_key_suffix(list_orders, ("y" * 30 + "a",), {})
            b = kc.build_key_suffix(list_orders, ("y" * 30 + "b",), {})
        assert a == b == ("tenant_id:" + "y" * 30)[:20]
        warnings = [r for r in caplog.records if "HASH_SUFFIX_ON_OVERFLOW" in r.getMessage()]
        assert len(warnings) == 1
        assert "Short" in warnings[0].getMessage()

    def test_hash_on_overflow_from_settings(self) -> None:
        kc = self.Short()
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"HASH_SUFFIX_ON_OVERFLOW": True}}):
            suffix = kc.build_key_suffix(list_orders, ("z" * 30,), {})
        assert suffix == hash_string("tenant_id:" + "z" * 30)

    def test_settings_read_at_build_time(self) -> None:
        kc = DefaultKeyConstructor()
        tiny = {"MAX_KEY_SUFFIX_LENGTH": 5, "HASH_SUFFIX_ON_OVERFLOW": True}
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": tiny}):
            assert len(kc.build_key_suffix(list_orders, (1,), {})) == 64
        assert kc.build_key_suffix(list_orders, (1,), {}) == "page:1||size:20||tenant_id:1"

    def test_long_keys_stay_memcached_safe(self) -> None:
        key = DefaultKeyConstructor().generate_key(list_orders, ("é " * 200,), {})
        assert len(key.encode()) <= 200
        assert all(33 <= ord(c) <= 126 for c in key)


class TestInline:
    def test_memoized_by_field_identity(self) -> None:
        field = ArgsKeyField("a")
        first = InlineKeyConstructor({"a": field})
        assert InlineKeyConstructor({"a": field}) is first
        assert InlineKeyConstructor({"a": ArgsKeyField("a")}) is not first
        assert InlineKeyConstructor({"a": ArgsKeyField("a", partition=True)}) is not first
        assert isinstance(first(), KeyConstructor)

    def test_falls_back_to_settings(self) -> None:
        kc = InlineKeyConstructor({"a": ArgsKeyField("tenant_id")})()
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"MAX_KEY_SUFFIX_LENGTH": 3}}):
            assert kc._meta.max_key_suffix_length == 3
        assert kc._meta.max_key_suffix_length == 250
