"""Errors: domain errors that know nothing of HTTP, and their DRF translations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions as drf_exceptions
from rest_framework import status

from restflow.log import log_throttled

__all__ = [
    "BlacklistUnavailable",
    "BlacklistUnavailableError",
    "JWTConfigurationError",
    "KeySetUnavailable",
    "KeySetUnavailableError",
    "TokenError",
    "translate_token_errors",
]

logger = logging.getLogger("restflow.authentication")


class TokenError(Exception):
    """A token cannot be used: malformed, bad signature, expired, wrong type, revoked...

    ``code`` is the stable machine-readable reason DRF puts into its error response.
    """

    def __init__(self, message: str = "Token is invalid.", *, code: str = "invalid_token"):
        super().__init__(message)
        self.code = code


class JWTConfigurationError(TokenError, ImproperlyConfigured):
    """The settings prevent signing or verifying: a deployment error, never a 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="configuration_error")


class BlacklistUnavailableError(Exception):
    """The blacklist store failed; we cannot tell whether a token was revoked."""


class BlacklistUnavailable(drf_exceptions.APIException):
    """HTTP 503: the blacklist store is down, so we fail closed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Token revocation list is unavailable; try again later."
    default_code = "blacklist_unavailable"


class KeySetUnavailableError(Exception):
    """The ``JWKS_URL`` key set cannot be fetched and the cached one has expired."""


class KeySetUnavailable(drf_exceptions.APIException):
    """HTTP 503: the issuer's keys are out of reach, so no token can be checked."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Token signing keys are unavailable; try again later."
    default_code = "keys_unavailable"


@contextmanager
def translate_token_errors() -> Iterator[None]:
    """Turn domain errors into DRF errors at the view edge.

    ``TokenError`` becomes 401 with its message and code, a blacklist outage or a JWKS
    that cannot be fetched becomes 503;
    ``JWTConfigurationError`` propagates (a misconfigured server is not a client error).
    """
    try:
        yield
    except JWTConfigurationError:
        raise
    except TokenError as exc:
        raise drf_exceptions.AuthenticationFailed(str(exc), code=exc.code) from exc
    except BlacklistUnavailableError as exc:
        log_throttled(
            logger,
            "blacklist-unavailable",
            "Token blacklist backend failed; refusing the token: %s",
            exc.__cause__ or exc,
            level=logging.ERROR,
        )
        raise BlacklistUnavailable() from exc
    except KeySetUnavailableError as exc:
        raise KeySetUnavailable() from exc
