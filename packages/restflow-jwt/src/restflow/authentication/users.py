"""Finding the user a token names, and deciding whether that user may authenticate.

Used on every request (``JWTAuthentication``) and at refresh, so a deleted, deactivated
or revoked user loses access at the next request and cannot buy new tokens.
"""

from __future__ import annotations

import inspect
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import EmptyResultSet, ValidationError
from django.utils.crypto import constant_time_compare

from restflow.authentication.config import JWTConfig, get_config
from restflow.authentication.exceptions import TokenError
from restflow.authentication.tokens import get_password_hash
from restflow.authentication.userquery import compiled_user_lookup

__all__ = [
    "aget_token_user",
    "default_user_authentication_rule",
    "get_token_user",
    "get_user_authentication_rule",
]


def default_user_authentication_rule(user: Any) -> bool:
    """Allow existing users that are active (or any user when ``CHECK_USER_IS_ACTIVE`` is off)."""
    return user is not None and (
        bool(getattr(user, "is_active", True)) or not get_config().check_user_is_active
    )


def get_user_authentication_rule() -> Any:
    """The callable named by ``USER_AUTHENTICATION_RULE``."""
    return get_config().user_authentication_rule


def _not_found() -> TokenError:
    return TokenError("User not found.", code="user_not_found")


def _lookup(payload: dict[str, Any], config: JWTConfig) -> dict[str, Any]:
    """ORM filter for the user named by ``payload``; TokenError when it cannot match."""
    claim = payload.get(config.user_id_claim)
    if claim is None:
        raise TokenError("Token contained no recognizable user identification.")
    # Only the JSON type issuing writes (no bool, float or digit string for an integer
    # field), and for strings only the canonical form: to_python alone would read
    # Arabic-Indic digits, " 1", "+1" and "01" as 1, or an uppercase or braced UUID as the user's.
    expected = config.user_id_claim_type
    if type(claim) is not expected:
        raise _not_found()
    try:
        value = config.user_id_model_field.to_python(claim)
    except (ValidationError, ValueError, TypeError, OverflowError):
        raise _not_found() from None
    if expected is str and str(value) != claim:
        raise _not_found()
    return {config.user_id_field: value}


def _check_user(user: Any, payload: dict[str, Any], config: JWTConfig) -> None:
    if config.check_user_is_active and not getattr(user, "is_active", True):
        raise TokenError("User is inactive.", code="user_inactive")
    if config.check_revoke_token:
        claim = payload.get(config.revoke_token_claim)
        current = get_password_hash(getattr(user, "password", "") or "")
        if not isinstance(claim, str) or not constant_time_compare(claim, current):
            raise TokenError("The user's password has been changed.", code="password_changed")


def _rejected() -> TokenError:
    return TokenError("User is not allowed to authenticate.", code="user_not_allowed")


def _custom_rule(config: JWTConfig) -> Any:
    rule = config.user_authentication_rule
    # The default rule repeats the is_active check of _check_user: skip the call.
    return None if rule is default_user_authentication_rule else rule


# EmptyResultSet: Django's verdict on a value the column cannot hold (never a 500).
_LOOKUP_ERRORS = (ValidationError, ValueError, TypeError, OverflowError, EmptyResultSet)


def _find_user(payload: dict[str, Any], config: JWTConfig) -> Any:
    """Exactly one user for the token's id claim (one query), else ``user_not_found``."""
    model = config.user_model
    lookup = _lookup(payload, config)
    compiled = compiled_user_lookup(
        model, config.user_id_field, config.user_id_model_field, config.user_lookups
    )
    try:
        if compiled is None:
            return model._default_manager.get(**lookup)
        users = compiled.fetch(lookup[config.user_id_field])
    except (model.DoesNotExist, model.MultipleObjectsReturned, *_LOOKUP_ERRORS):
        raise _not_found() from None
    if len(users) != 1:
        raise _not_found()
    return users[0]


def get_token_user(payload: dict[str, Any]) -> Any:
    """The user of a verified token's ``payload`` (one query), or :class:`TokenError`."""
    config = get_config()
    user = _find_user(payload, config)
    _check_user(user, payload, config)
    rule = _custom_rule(config)
    if rule is not None and not rule(user):
        raise _rejected()
    return user


async def aget_token_user(payload: dict[str, Any]) -> Any:
    """Async twin of :func:`get_token_user`."""
    config = get_config()
    user = await sync_to_async(_find_user, thread_sensitive=True)(payload, config)
    _check_user(user, payload, config)
    rule = _custom_rule(config)
    if rule is not None:
        if inspect.iscoroutinefunction(rule):
            allowed = await rule(user)
        else:
            allowed = await sync_to_async(rule, thread_sensitive=True)(user)
        if not allowed:
            raise _rejected()
    return user
