from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from restflow.settings import DEFAULTS, RestflowSettings, restflow_settings

SEED_JWT = {
    "SIGNING_KEY": None,
    "VERIFYING_KEY": None,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ISSUER": None,
    "AUDIENCE": None,
    "USER_ID_CLAIM": "user_id",
    "USER_ID_FIELD": "id",
    "USER_ID_FIELD_ALLOWLIST": ("id", "pk", "uuid", "username", "email"),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "BLACKLIST_ENABLED": True,
    "BLACKLIST_BACKEND": "restflow.authentication.jwt.CacheBlacklistBackend",
    "BLACKLIST_CACHE_ALIAS": "default",
    "BLACKLIST_ALLOW_LOCMEM": False,
    "ROTATE_REFRESH_TOKENS": True,
    # restflow-jwt sessions (issue 16), after the seed document
    "ROTATION_GRACE_PERIOD": 0,
    "TRACK_SESSIONS": False,
    "SESSION_LIMIT": None,
    "SESSION_RECORD_CLIENT": False,
    "LEEWAY": 0,
    "CHECK_USER_IS_ACTIVE": True,
    "CHECK_REVOKE_TOKEN": False,
    "REVOKE_TOKEN_CLAIM": "hash_password",
    "USER_AUTHENTICATION_RULE": "restflow.authentication.jwt.default_user_authentication_rule",
}
#: Keys added after the settings document: issue 18 (key ring, JWKS, RFC 9068 profile);
#: their defaults are documented in docs/settings.md.
ADDED_JWT = frozenset(
    {
        "SIGNING_KEYS",
        "JWKS_MAX_AGE",
        "JWKS_URL",
        "JWKS_CACHE_LIFETIME",
        "JWKS_MIN_REFRESH_INTERVAL",
        "JWKS_TIMEOUT",
        "ACCESS_TOKEN_PROFILE",
        "CLIENT_ID",
    }
)
SEED_CACHE = {
    "MAX_KEY_SUFFIX_LENGTH": 250,
    "HASH_SUFFIX_ON_OVERFLOW": False,
    "KEY_HASH_ALGORITHM": "sha256",
    "DEFAULT_DISPATCHER": "inline",
    "DISPATCHER_RAISE_EXCEPTION": False,
    "DISPATCHER_SETTINGS": {
        "celery": {
            "TASK_NAME": "restflow.caching.tasks.task_run_cache_rules",
            "QUEUE": None,
            "RAISE_EXCEPTION": None,
        },
        "threadpool": {"MAX_WORKERS": 4, "RAISE_EXCEPTION": None},
        "django_rq": {
            "QUEUE": "default",
            "FUNCTION_PATH": "restflow.caching.tasks.run_cache_rules",
            "RAISE_EXCEPTION": None,
        },
        "dramatiq": {
            "QUEUE": "default",
            "ACTOR_NAME": "restflow.task_run_cache_rules",
            "RAISE_EXCEPTION": None,
        },
        "django_q": {
            "CLUSTER": None,
            "GROUP": None,
            "FUNCTION_PATH": "restflow.caching.tasks.run_cache_rules",
            "RAISE_EXCEPTION": None,
        },
        "asyncio": {"RAISE_EXCEPTION": None},
        "inline": {"RAISE_EXCEPTION": None},
    },
}


def test_defaults_are_the_settings_document_key_for_key() -> None:
    assert_seed(DEFAULTS)


def assert_seed(values: dict[str, Any]) -> None:
    """``values`` are the settings document's, plus the keys added since (by name)."""
    assert set(values) == {"JWT", "CACHE_SETTINGS"}
    assert {key: values["JWT"][key] for key in SEED_JWT} == SEED_JWT
    assert set(values["JWT"]) - set(SEED_JWT) == ADDED_JWT
    assert values["CACHE_SETTINGS"] == SEED_CACHE


@override_settings(RESTFLOW_SETTINGS={})
def test_every_default_is_served_when_nothing_is_set() -> None:
    assert_seed(restflow_settings.to_dict())
    assert restflow_settings.JWT.ALGORITHM == "HS256"
    assert restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.celery.QUEUE is None


def test_attribute_access_reaches_every_level() -> None:
    overrides = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"celery": {"QUEUE": "inval"}}}}
    with override_settings(RESTFLOW_SETTINGS=overrides):
        assert restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.celery.QUEUE == "inval"
        # Nested merge: the other keys of the block and the other blocks keep defaults.
        celery = restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.celery
        assert celery.TASK_NAME == "restflow.caching.tasks.task_run_cache_rules"
        assert restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.threadpool.MAX_WORKERS == 4
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
    [((), "NOPE"), (("JWT",), "SIGNIN_KEY"), (("CACHE_SETTINGS", "DISPATCHER_SETTINGS", "celery"), "QUEUES")],
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
    assert type(result["CACHE_SETTINGS"]["DISPATCHER_SETTINGS"]["celery"]) is dict


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
