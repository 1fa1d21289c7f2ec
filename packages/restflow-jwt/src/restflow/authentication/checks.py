"""System checks for the JWT settings (``restflow_authentication.E0xx`` / ``W0xx``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage

__all__ = ["check_jwt_deploy_settings", "check_jwt_settings"]

_ID = "restflow_authentication."
_S = "RESTFLOW_SETTINGS['JWT']"


def check_jwt_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every JWT check (see the table in docs/jwt.md)."""
    from restflow.authentication.checks_blacklist import _blacklist_messages
    from restflow.authentication.checks_claims import (
        _profile_messages,
        _rule_messages,
        _user_id_errors,
        _user_id_field_messages,
    )
    from restflow.authentication.checks_cookies import _cookie_messages
    from restflow.authentication.checks_keys import (
        _algorithm_errors,
        _jwks_url_messages,
        _key_messages,
        _ring_messages,
    )
    from restflow.authentication.checks_sessions import _session_messages
    from restflow.authentication.config import get_jwt_settings

    s = get_jwt_settings()
    messages = _algorithm_errors(s)
    messages += _user_id_errors(s) or _user_id_field_messages(s)
    if s.JWKS_URL is not None:
        messages += _jwks_url_messages(s)
    elif s.SIGNING_KEYS:
        messages += _ring_messages(s)
    elif not messages or messages[0].id not in (_ID + "E001", _ID + "E002"):
        messages += _key_messages(s)
    messages += _profile_messages(s)
    messages += _blacklist_messages(s)
    messages += _session_messages(s)
    messages += _cookie_messages(s)
    messages += _rule_messages(s)
    return messages


def check_jwt_deploy_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The JWT checks of ``manage.py check --deploy`` (W005)."""
    from restflow.authentication.checks_blacklist import _locmem_deploy_messages
    from restflow.authentication.config import get_jwt_settings

    return _locmem_deploy_messages(get_jwt_settings())

