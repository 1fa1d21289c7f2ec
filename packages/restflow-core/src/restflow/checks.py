"""Django system checks for what restflow-core can see at start-up.

Core has no Django app of its own: restflow-jwt's and restflow-cache's
``AppConfig.ready()`` call :func:`register_checks`, so ``manage.py check`` reports a
malformed ``RESTFLOW_SETTINGS`` or an unknown ``DEFAULT_DISPATCHER`` before the first
request whenever either app is installed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from restflow.settings import DEFAULTS, SETTING_NAME, restflow_settings

__all__ = ["check_default_dispatcher", "check_settings_shape", "register_checks"]


def register_checks() -> None:
    """Add core's checks (tag ``restflow``) to Django's registry; calling it again is a
    no-op. Called from the ``ready()`` of every restflow app."""
    register(check_settings_shape, "restflow")
    register(check_default_dispatcher, "restflow")


def check_settings_shape(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """restflow.E001-E003, W001: the shape of ``RESTFLOW_SETTINGS``."""
    if not hasattr(settings, SETTING_NAME):
        return []
    value = getattr(settings, SETTING_NAME)
    if not isinstance(value, dict):
        return [
            Error(
                f"{SETTING_NAME} must be a dict, not {type(value).__name__}.",
                hint=f"Write {SETTING_NAME} = {{'JWT': {{...}}, 'CACHE_SETTINGS': {{...}}}}.",
                id="restflow.E001",
            )
        ]
    messages: list[CheckMessage] = []
    for section, section_value in value.items():
        if section not in DEFAULTS:
            messages.append(
                Error(
                    f"{SETTING_NAME} has an unknown section {section!r}.",
                    hint=f"Known sections: {', '.join(sorted(DEFAULTS))}.",
                    id="restflow.E002",
                )
            )
            continue
        if not isinstance(section_value, dict):
            messages.append(
                Error(
                    f"{SETTING_NAME}[{section!r}] must be a dict, not "
                    f"{type(section_value).__name__}; restflow ignores it and uses defaults.",
                    hint=f"Write {SETTING_NAME}[{section!r}] = {{'KEY': value, ...}}.",
                    id="restflow.E003",
                )
            )
            continue
        unknown = sorted(set(section_value) - set(DEFAULTS[section]))
        if unknown:
            messages.append(
                Warning(
                    f"{SETTING_NAME}[{section!r}] has unknown keys {unknown}; "
                    "they have no effect.",
                    hint=f"Check the spelling; known keys: {', '.join(DEFAULTS[section])}.",
                    id="restflow.W001",
                )
            )
    return messages


def check_default_dispatcher(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """restflow.E004: ``CACHE_SETTINGS['DEFAULT_DISPATCHER']`` names a dispatcher."""
    from restflow.dispatch.registry import DispatcherNotFoundError, get_dispatcher_class

    name = restflow_settings.CACHE_SETTINGS.DEFAULT_DISPATCHER
    if not isinstance(name, str):
        return [
            Error(
                f"CACHE_SETTINGS['DEFAULT_DISPATCHER'] must be a dispatcher name, got {name!r}.",
                hint="Use 'inline', 'threadpool', 'asyncio' or an installed plugin's name.",
                id="restflow.E004",
            )
        ]
    try:
        get_dispatcher_class(name)
    except DispatcherNotFoundError as exc:
        return [
            Error(
                f"CACHE_SETTINGS['DEFAULT_DISPATCHER'] is {name!r}: {exc}",
                hint="Install the plugin that provides it, or pick a registered name.",
                id="restflow.E004",
            )
        ]
    return []
