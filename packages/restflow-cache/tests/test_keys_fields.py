"""Key fields: payloads, canonical text, hashing (docs/caching.md, Key fields)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from cache_testapp.models import Author, Book
from django.http import QueryDict
from django.test import RequestFactory, override_settings
from rest_framework import serializers

from restflow.caching.constants import MISSING_VALUE
from restflow.caching.hashing import hash_string
from restflow.caching.key_field_base import CacheKeyField
from restflow.caching.key_fields import ArgsKeyField, ConstantKeyField, ViewKwargsKeyField
from restflow.caching.request_key_fields import (
    AcceptedRendererKeyField,
    HostKeyField,
    QueryParamsKeyField,
    RequestValueKeyField,
)
from restflow.caching.structure_key_fields import DjangoModelKeyField, DrfSerializerKeyField


def fn(a: Any, b: Any = 10) -> None: ...


def view_fn(request: Any, page: int = 1) -> None: ...


def req(query: str = "", **attrs: Any) -> SimpleNamespace:
    return SimpleNamespace(query_params=QueryDict(query), **attrs)


class TestHashing:
    def test_default_is_sha256(self) -> None:
        assert hash_string("hello") == hashlib.sha256(b"hello").hexdigest()

    def test_named_algorithm(self) -> None:
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"KEY_HASH_ALGORITHM": "blake2b"}}):
            assert hash_string("hello") == hashlib.blake2b(b"hello").hexdigest()

    def test_callable_algorithm(self) -> None:
        with override_settings(
            RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"KEY_HASH_ALGORITHM": lambda s: f"H:{s}"}}
        ):
            assert hash_string("hello") == "H:hello"

    def test_unknown_algorithm_raises(self) -> None:
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"KEY_HASH_ALGORITHM": "nope"}}):
            with pytest.raises(ValueError):
                hash_string("hello")


class TestCanonicalText:
    def test_dict_sorted_and_joined(self) -> None:
        assert ConstantKeyField("k", 1).stringify({"b": 2, "a": 1}) == "a:1||b:2"

    def test_sorted_list_with_none(self) -> None:
        field = ArgsKeyField(sort_lists=True)
        assert field.stringify({"x": ["x", 1, None]}) == "x:[1,null,x]"

    def test_list_order_kept_by_default(self) -> None:
        assert ArgsKeyField().stringify({"x": [3, 1, 2]}) == "x:[3,1,2]"

    def test_datetime_iso_escaped(self) -> None:
        part = ArgsKeyField().stringify({"when": datetime(2024, 1, 1, 12)})
        assert part == "when:2024-01-01T12%3A00%3A00"

    def test_hash_value_is_64_hex(self) -> None:
        part = ArgsKeyField(hash_value=True).stringify({"a": 1})
        assert len(part) == 64
        assert part == hash_string("a:1")

    def test_empty_payload_is_empty(self) -> None:
        assert ArgsKeyField(hash_value=True).stringify({}) == ""

    @pytest.mark.parametrize(
        ("left", "right"),
        [
            (None, "null"),
            ("", None),
            (["a"], "a"),
            ([], ""),
            ({}, ""),
            ("a,b", ["a", "b"]),
            ("x||y:1", {"x": None}),
            ("a::b", "a"),
            ({"a": "b:c"}, {"a:b": "c"}),
        ],
    )
    def test_distinct_values_render_distinct(self, left: Any, right: Any) -> None:
        field = ArgsKeyField()
        assert field.stringify({"v": left}) != field.stringify({"v": right})

    def test_int_and_str_share_by_policy(self) -> None:
        field = ArgsKeyField()
        assert field.stringify({"pk": 1}) == field.stringify({"pk": "1"})

    def test_unsafe_characters_are_encoded(self) -> None:
        part = ArgsKeyField().stringify({"q": "a b\nc é"})
        assert part == "q:a%20b%0Ac%20%C3%A9"

    def test_model_instance_renders_label_and_pk(self) -> None:
        author = Author(pk=5, name="x")
        assert ArgsKeyField().stringify({"a": author}) == "a:cache_testapp.Author#5"

    def test_resolve_attr_path(self) -> None:
        resolve = ArgsKeyField._resolve_attr_path
        assert resolve({"a": {"b": 1}}, "a.b") == 1
        assert resolve({"a": {"b": 1}}, "a.c") == MISSING_VALUE
        obj = object()
        assert resolve(obj, "") is obj
        assert resolve(obj, None) is obj

    def test_normalize_request(self) -> None:
        normalize = ArgsKeyField._normalize_request
        assert normalize(None) is None
        thing = object()
        assert normalize(thing) is thing
        inner = req("a=1")
        assert normalize(SimpleNamespace(request=inner)) is inner


class TestConstantField:
    @pytest.mark.parametrize("value", ["s", 3, 1.5, True, None, [1], {"a": 1}])
    def test_payload_is_str_of_value(self, value: Any) -> None:
        assert ConstantKeyField("k", value).get_key_payload(fn, (1,), {}) == {"k": str(value)}


class TestArgsField:
    def test_defaults_applied(self) -> None:
        assert ArgsKeyField().get_key_payload(fn, (1,), {}) == {"a": 1, "b": 10}

    def test_one_name_and_list(self) -> None:
        assert ArgsKeyField("b").get_key_payload(fn, (1, 2), {}) == {"b": 2}
        assert ArgsKeyField(["a"]).get_key_payload(fn, (1, 2), {}) == {"a": 1}
        assert ArgsKeyField("nonexistent").get_key_payload(fn, (1,), {}) == {}

    def test_path_and_normalizer(self) -> None:
        user = SimpleNamespace(id=99, profile=SimpleNamespace(slug="ab"))
        assert ArgsKeyField("a", path="id").get_key_payload(fn, (user,), {}) == {"a": 99}
        field = ArgsKeyField("a", path="profile.slug", normalizer=str.upper)
        assert field.get_key_payload(fn, (user,), {}) == {"a": "AB"}

    def test_failing_normalizer_keeps_value(self) -> None:
        field = ArgsKeyField("a", normalizer=lambda v: 1 / 0)
        assert field.get_key_payload(fn, (5,), {}) == {"a": 5}

    def test_binding_error_propagates(self) -> None:
        with pytest.raises(TypeError):
            ArgsKeyField().get_key_payload(fn, (1, 2, 3), {})

    def test_var_kwargs_flattened(self) -> None:
        def get(self: Any, request: Any, *args: Any, **kwargs: Any) -> None: ...

        def get_pk(self: Any, request: Any, pk: Any = None) -> None: ...

        flat = ViewKwargsKeyField().get_key_payload(get, ("view", "req"), {"pk": 7})
        named = ViewKwargsKeyField().get_key_payload(get_pk, ("view", "req"), {"pk": 7})
        assert flat == named == {"pk": 7}


class TestRequestFields:
    def test_request_value(self) -> None:
        request = SimpleNamespace(user=SimpleNamespace(pk=123, is_authenticated=True))
        field = RequestValueKeyField("user.id")
        assert field.get_key_payload(view_fn, (request,), {}) == {"user_id": 123}
        assert field.user_scoped

    def test_request_value_deep_path_and_missing(self) -> None:
        org = SimpleNamespace(name="TestOrg")
        request = SimpleNamespace(user=SimpleNamespace(profile=SimpleNamespace(organization=org)))
        field = RequestValueKeyField("user.profile.organization.name")
        payload = field.get_key_payload(view_fn, (), {"request": request})
        assert payload == {"user_profile_organization_name": "TestOrg"}
        assert RequestValueKeyField("user.nope").get_key_payload(view_fn, (request,), {}) == {
            "user_nope": MISSING_VALUE
        }

    def test_no_request_is_empty(self) -> None:
        assert RequestValueKeyField("user.id").get_key_payload(fn, (), {}) == {}

    def test_custom_request_arg_and_view_fallback(self) -> None:
        def other(req_obj: Any) -> None: ...

        request = SimpleNamespace(user=SimpleNamespace(pk=1, is_authenticated=True))
        field = RequestValueKeyField("user.id", request_arg="req_obj")
        assert field.get_key_payload(other, (request,), {}) == {"user_id": 1}
        view = SimpleNamespace(request=request)

        def method(self: Any) -> None: ...

        assert RequestValueKeyField("user.id").get_key_payload(method, (view,), {}) == {
            "user_id": 1
        }

    def test_query_params_all_and_selected(self) -> None:
        request = req("page=2&size=10&x=1")
        assert QueryParamsKeyField().get_key_payload(view_fn, (request,), {}) == {
            "page": "2",
            "size": "10",
            "x": "1",
        }
        assert QueryParamsKeyField(["page"]).get_key_payload(view_fn, (request,), {}) == {
            "page": "2"
        }

    def test_query_params_repeated_keep_their_order(self) -> None:
        request = req("tag=c&tag=a&tag=b&one=1")
        payload = QueryParamsKeyField().get_key_payload(view_fn, (request,), {})
        assert payload == {"tag": ["c", "a", "b"], "one": "1"}
        swapped = QueryParamsKeyField().get_key_payload(view_fn, (req("one=1&tag=c&tag=a&tag=b"),), {})
        assert swapped == payload  # different names: order-insensitive
        field = QueryParamsKeyField()
        part = field.get_cache_key_part(view_fn, (req("a=2&a=1"),), {})
        assert part != field.get_cache_key_part(view_fn, (req("a=1&a=2"),), {})

    def test_query_params_of_a_plain_django_request(self) -> None:
        def django_view(request: Any) -> None: ...

        request = RequestFactory().get("/items/", {"page": "2", "tag": ["b", "a"]})
        assert QueryParamsKeyField().get_key_payload(django_view, (request,), {}) == {
            "page": "2",
            "tag": ["b", "a"],
        }
        other = RequestFactory().get("/items/", {"page": "3"})
        assert QueryParamsKeyField().get_key_payload(django_view, (other,), {}) == {"page": "3"}

    def test_query_params_plain_dict_and_missing_request(self) -> None:
        request = SimpleNamespace(query_params={"a": ["x", "y"]})
        assert QueryParamsKeyField().get_key_payload(view_fn, (request,), {}) == {"a": ["x", "y"]}
        assert QueryParamsKeyField().get_key_payload(fn, (1,), {}) == {}


class TestFingerprints:
    def test_model_fingerprint(self) -> None:
        payload = DjangoModelKeyField(Book).get_key_payload(fn, (), {})
        fields = payload["model_structure"]["fields"]
        assert list(fields) == sorted(fields)
        assert fields["title"] == {"type": "CharField"}
        assert fields["author"] == {"type": "ForeignKey"}
        assert fields["id"] == {"type": "BigAutoField"}
        assert "tags" in fields
        assert DjangoModelKeyField(None).get_key_payload(fn, (), {}) == {}
        with pytest.raises(ValueError, match="Invalid model class"):
            DjangoModelKeyField("Book").get_key_payload(fn, (), {})

    def test_serializer_fingerprint(self) -> None:
        class Inner(serializers.Serializer[Any]):
            x = serializers.IntegerField()

        class Outer(serializers.Serializer[Any]):
            name = serializers.CharField()
            inner = Inner()
            many = Inner(many=True)

        structure = DrfSerializerKeyField(Outer).get_key_payload(fn, (), {})["serializer_structure"]
        assert structure["name"] == "Outer"
        assert structure["fields"]["name"]["type"] == "CharField"
        assert structure["fields"]["inner"]["nested_serializer"]["fields"]["x"]["type"] == (
            "IntegerField"
        )
        assert structure["fields"]["many"]["list_child_serializer"]["name"] == "Inner"
        assert DrfSerializerKeyField(None).get_key_payload(fn, (), {}) == {}

    def test_serializer_failures(self) -> None:
        class NeedsArgs(serializers.Serializer[Any]):
            def __init__(self, required: Any) -> None:
                super().__init__()

        for bad in (NeedsArgs, "not a class"):
            with pytest.raises(ValueError, match="Failed to initialize serializer class") as info:
                DrfSerializerKeyField(bad).get_key_payload(fn, (), {})
            assert info.value.__cause__ is not None


class TestUserScoping:
    """Only identity paths scope by user, and they key by the user's pk (defect 12)."""

    @staticmethod
    def request_of(user: Any) -> Any:
        request = RequestFactory().get("/")
        request.user = user
        return request

    def test_only_identity_paths_are_user_scoped(self) -> None:
        for path in ("user", "user.pk", "user.id"):
            assert RequestValueKeyField(path).user_scoped, path
        for path in ("user.is_staff", "user.username", "user.email", "auth", "auth.user_id", "username"):
            assert not RequestValueKeyField(path).user_scoped, path

    def test_identity_paths_key_by_pk_and_anonymous_apart(self, db: Any) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import AnonymousUser

        impostor = get_user_model().objects.create_user(username="AnonymousUser")
        for path in ("user", "user.pk", "user.id"):
            field = RequestValueKeyField(path)
            anonymous = field.get_cache_key_part(view_fn, (self.request_of(AnonymousUser()),), {})
            named = field.get_cache_key_part(view_fn, (self.request_of(impostor),), {})
            assert anonymous != named, path
            assert named == f"{field.name}:{impostor.pk}"

    def test_an_unauthenticated_user_with_a_pk_is_anonymous(self) -> None:
        ghost = SimpleNamespace(pk="null", is_authenticated=False)
        real = SimpleNamespace(pk="null", is_authenticated=True)
        field = RequestValueKeyField("user")
        ghost_part = field.get_cache_key_part(view_fn, (SimpleNamespace(user=ghost),), {})
        real_part = field.get_cache_key_part(view_fn, (SimpleNamespace(user=real),), {})
        assert ghost_part != real_part  # a pk spelled like the marker still differs


class TestUnknownArguments:
    """Misspelt arguments are refused, never silently dropped (defect 16)."""

    @pytest.mark.parametrize(
        "make",
        [
            lambda **kw: ArgsKeyField("a", **kw),
            lambda **kw: ViewKwargsKeyField("*", **kw),
            lambda **kw: ConstantKeyField("k", "v", **kw),
            lambda **kw: RequestValueKeyField("user.id", **kw),
            lambda **kw: QueryParamsKeyField("*", **kw),
            lambda **kw: AcceptedRendererKeyField(**kw),
            lambda **kw: HostKeyField(**kw),
            lambda **kw: DjangoModelKeyField(Book, **kw),
            lambda **kw: DrfSerializerKeyField(None, **kw),
        ],
    )
    def test_every_field_names_the_unknown_keyword(self, make: Any) -> None:
        with pytest.raises(TypeError, match="partiton"):
            make(partiton=True)

    def test_all_unknown_keywords_are_named(self) -> None:
        with pytest.raises(TypeError, match="'hash_vlaue', 'partiton'"):
            ArgsKeyField("a", partiton=True, hash_vlaue=True)

    def test_extra_positional_arguments_are_refused(self) -> None:
        with pytest.raises(TypeError):
            ConstantKeyField("k", "v", True)
        with pytest.raises(TypeError):
            ArgsKeyField("a", None, None, True)
        with pytest.raises(TypeError):
            QueryParamsKeyField("*", "request", True)

    def test_a_custom_field_passing_its_extra_keywords_up(self) -> None:
        class Tenant(CacheKeyField):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)

            def get_key_payload(self, func: Any, args: Any, kwargs: Any) -> dict[str, Any]:
                return {}

        assert Tenant(partition=True).partition
        with pytest.raises(TypeError, match=r"Tenant.*partiton"):
            Tenant(partiton=True)
