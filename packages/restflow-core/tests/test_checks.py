from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings


def _ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        return sorted(m.id for m in _core_messages())


def _core_messages() -> list[checks.CheckMessage]:
    # Other distributions register checks under the same tag; core's ids are restflow.*.
    return [m for m in checks.run_checks(tags=["restflow"]) if (m.id or "").startswith("restflow.")]


def test_a_clean_configuration_reports_nothing() -> None:
    assert _ids(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"DEFAULT_DISPATCHER": "threadpool"}}) == []


def test_settings_that_are_not_a_dict() -> None:
    with override_settings(RESTFLOW_SETTINGS=["JWT"]):
        [message] = [m for m in _core_messages() if m.id == "restflow.E001"]
    assert "must be a dict" in message.msg
    assert message.hint


def test_unknown_section_and_section_that_is_not_a_dict() -> None:
    assert _ids(RESTFLOW_SETTINGS={"CACHE": {}, "JWT": "HS256"}) == ["restflow.E002", "restflow.E003"]


def test_misspelt_key_is_a_warning() -> None:
    with override_settings(RESTFLOW_SETTINGS={"JWT": {"SIGNIN_KEY": "x"}}):
        [message] = _core_messages()
    assert message.id == "restflow.W001"
    assert "SIGNIN_KEY" in message.msg
    assert "SIGNING_KEY" in (message.hint or "")


@pytest.mark.parametrize(
    ("value", "fragment"), [("carrier-pigeon", "not registered"), (7, "must be a dispatcher name")]
)
def test_unknown_default_dispatcher(value: object, fragment: str) -> None:
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"DEFAULT_DISPATCHER": value}}):
        [message] = _core_messages()
    assert message.id == "restflow.E004"
    assert fragment in message.msg
