from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.test import override_settings

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.registry import register_dispatcher, unregister_dispatcher
from restflow.settings import DEFAULTS, RestflowSettings, restflow_settings


class Outbox(Dispatcher):
    """A plugin's dispatcher: it declares its own settings block."""

    name: ClassVar[str] = "outbox"
    default_settings: ClassVar[dict[str, Any]] = {"TOPIC": "invalidation", "RETRIES": 3}

    def _dispatch(self, **kwargs: Any) -> None:
        raise NotImplementedError


@pytest.fixture
def outbox() -> Iterator[type[Outbox]]:
    register_dispatcher(Outbox)
    yield Outbox
    unregister_dispatcher("outbox")


def _walk(defaults: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in defaults.items():
        if isinstance(value, dict):
            yield from _walk(value, (*path, key))
        else:
            yield (*path, key), value


@override_settings(RESTFLOW_SETTINGS={})
def test_every_default_is_served_when_nothing_is_set() -> None:
    served = restflow_settings.to_dict()
    for path, default in _walk(DEFAULTS):
        node: Any = restflow_settings
        for part in path:
            node = getattr(node, part)
        assert node == default, path
        value: Any = served
        for part in path:
            value = value[part]
        assert value == default, path
    assert restflow_settings.JWT.ALGORITHM == "HS256"
    assert restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.threadpool.MAX_WORKERS == 4


def test_a_dispatcher_declares_its_own_block(outbox: type[Outbox]) -> None:
    blocks = restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS
    assert blocks.outbox.TOPIC == "invalidation"
    assert blocks.outbox.RAISE_EXCEPTION is None  # every block has it
    assert blocks.to_dict()["outbox"] == {"TOPIC": "invalidation", "RETRIES": 3, "RAISE_EXCEPTION": None}
    with override_settings(RESTFLOW_SETTINGS={
        "CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"outbox": {"TOPIC": "cache"}}}
    }):
        assert blocks.outbox.TOPIC == "cache"
        assert blocks.outbox.RETRIES == 3
        assert Outbox().option("topic") == "cache"
        assert Outbox(topic="rule").option("topic") == "rule"


def test_a_block_follows_the_dispatcher_registered_under_its_name(outbox: type[Outbox]) -> None:
    block = restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.outbox
    assert block.RETRIES == 3
    unregister_dispatcher("outbox")
    with pytest.raises(AttributeError, match="Invalid restflow setting: 'RETRIES'"):
        restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.outbox.RETRIES  # noqa: B018
    register_dispatcher(Outbox)
    assert restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.outbox is block
    assert block.RETRIES == 3


def test_a_resolved_value_is_an_instance_attribute_until_a_change() -> None:
    section = restflow_settings.CACHE_SETTINGS
    assert section.MAX_KEY_SUFFIX_LENGTH == 250
    assert vars(section)["MAX_KEY_SUFFIX_LENGTH"] == 250  # read without __getattr__
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"MAX_KEY_SUFFIX_LENGTH": 9}}):
        assert "MAX_KEY_SUFFIX_LENGTH" not in vars(section)
        assert section.MAX_KEY_SUFFIX_LENGTH == 9
    assert section.MAX_KEY_SUFFIX_LENGTH == 250


def test_attribute_access_reaches_every_level() -> None:
    overrides = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"threadpool": {"RAISE_EXCEPTION": True}}}}
    with override_settings(RESTFLOW_SETTINGS=overrides):
        pool = restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.threadpool
        assert pool.RAISE_EXCEPTION is True
        # Nested merge: the other keys of the block and the other blocks keep defaults.
        assert pool.MAX_WORKERS == 4
        assert restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.inline.RAISE_EXCEPTION is None
        assert restflow_settings.CACHE_SETTINGS.DEFAULT_DISPATCHER == "inline"


def test_override_changes_named_keys_only_and_reverts_on_exit() -> None:
    before = restflow_settings.to_dict()
    overrides = {"CACHE_SETTINGS": {"DEFAULT_DISPATCHER": "threadpool", "MAX_KEY_SUFFIX_LENGTH": 99}}
    with override_settings(RESTFLOW_SETTINGS=overrides):
        assert restflow_settings.CACHE_SETTINGS.DEFAULT_DISPATCHER == "threadpool"
        assert restflow_settings.CACHE_SETTINGS.MAX_KEY_SUFFIX_LENGTH == 99
        assert restflow_settings.CACHE_SETTINGS.HASH_SUFFIX_ON_OVERFLOW is False
    assert restflow_settings.to_dict() == before


def test_a_section_object_taken_before_an_override_reports_current_values() -> None:
    section = restflow_settings.JWT
    assert section.ALGORITHM == "HS256"
    with override_settings(RESTFLOW_SETTINGS={"JWT": {"ALGORITHM": "HS512"}}):
        assert section.ALGORITHM == "HS512"
        assert restflow_settings.JWT is section
    assert section.ALGORITHM == "HS256"


def test_explicit_none_wins_over_a_non_none_default() -> None:
    with override_settings(RESTFLOW_SETTINGS={"JWT": {"USER_ID_CLAIM": None}}):
        assert restflow_settings.JWT.USER_ID_CLAIM is None


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ((), "NOPE"),
        (("JWT",), "SIGNIN_KEY"),
        (("CACHE_SETTINGS", "DISPATCHER_SETTINGS", "threadpool"), "MAX_WORKER"),
    ],
)
def test_unknown_keys_raise_attribute_error_at_every_level(path: tuple[str, ...], name: str) -> None:
    node = restflow_settings
    for part in path:
        node = getattr(node, part)
    with pytest.raises(AttributeError, match=f"Invalid restflow setting: '{name}'"):
        getattr(node, name)


def test_a_user_key_without_default_is_not_an_attribute_but_is_in_to_dict() -> None:
    overrides = {"JWT": {"EXTRA": 1}, "CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"outbox": {"URL": "x"}}}}
    with override_settings(RESTFLOW_SETTINGS=overrides):
        with pytest.raises(AttributeError, match="Invalid restflow setting"):
            restflow_settings.JWT.EXTRA  # noqa: B018
        assert restflow_settings.JWT.to_dict()["EXTRA"] == 1
        blocks = restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.to_dict()
        assert blocks["outbox"] == {"URL": "x"}


def test_private_names_raise_plain_attribute_error() -> None:
    with pytest.raises(AttributeError) as info:
        restflow_settings._secret  # noqa: B018
    assert "Invalid restflow setting" not in str(info.value)


def test_to_dict_returns_plain_dicts_at_every_level() -> None:
    result = restflow_settings.to_dict()

    def walk(value: object) -> None:
        assert not isinstance(value, RestflowSettings)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(result)
    assert type(result["CACHE_SETTINGS"]["DISPATCHER_SETTINGS"]["threadpool"]) is dict


@pytest.mark.parametrize("value", ["oops", 42, None, ["JWT"]])
def test_a_malformed_setting_falls_back_to_defaults(value: object) -> None:
    with override_settings(RESTFLOW_SETTINGS=value):
        assert restflow_settings.JWT.ALGORITHM == "HS256"


def test_a_section_that_is_not_a_dict_falls_back_to_its_defaults() -> None:
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": "oops", "JWT": {"LEEWAY": 3}}):
        assert restflow_settings.CACHE_SETTINGS.DEFAULT_DISPATCHER == "inline"
        assert restflow_settings.JWT.LEEWAY == 3


def test_values_are_read_once_and_cached_until_reload() -> None:
    calls = []

    def loader() -> dict[str, object]:
        calls.append(1)
        return {"CACHE_SETTINGS": {"FOO": "bar"}}

    custom = RestflowSettings({"CACHE_SETTINGS": {"FOO": "default"}}, loader)
    assert custom.CACHE_SETTINGS.FOO == "bar"
    assert custom.CACHE_SETTINGS.FOO == "bar"
    assert len(calls) == 1
    custom.reload()
    assert custom.CACHE_SETTINGS.FOO == "bar"
    assert len(calls) == 2


def test_settings_built_on_other_defaults_serve_those() -> None:
    custom = RestflowSettings({"CACHE_SETTINGS": {"FOO": "bar"}}, lambda: {})
    assert custom.CACHE_SETTINGS.FOO == "bar"
    assert custom.to_dict() == {"CACHE_SETTINGS": {"FOO": "bar"}}


def test_unconfigured_django_means_defaults_and_no_error() -> None:
    code = (
        "from restflow.settings import restflow_settings as s;"
        "print(s.JWT.ALGORITHM, s.CACHE_SETTINGS.DEFAULT_DISPATCHER)"
    )
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.split() == ["HS256", "inline"]
