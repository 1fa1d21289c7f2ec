"""The JWKS endpoint: the public keys of the ring, for services that verify our tokens."""

from __future__ import annotations

import math
import time
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from restflow.authentication.config import get_config

__all__ = ["jwks_document", "jwks_max_age", "jwks_view"]


def jwks_document(now: float | None = None) -> dict[str, Any]:
    """``{"keys": [...]}``: the public JWKs of the keys that verify (never HMAC secrets)."""
    now = time.time() if now is None else now
    return {"keys": get_config().key_ring.published_jwks(now)}


def jwks_max_age(now: float | None = None) -> int:
    """``JWKS_MAX_AGE``, shortened so no cache outlives the next retired key's drop."""
    now = time.time() if now is None else now
    config = get_config()
    max_age = config.jwks_max_age
    for key in config.key_ring.keys:
        if key.jwk is not None and now < key.verify_until < math.inf:
            max_age = min(max_age, key.verify_until - now)
    return max(0, int(max_age))


@require_safe
def jwks_view(request: HttpRequest) -> JsonResponse:
    """GET ``.well-known/jwks.json`` (404 on a service that verifies through ``JWKS_URL``)."""
    if get_config().jwks_url is not None:
        raise Http404("This service verifies tokens through JWKS_URL and publishes no keys.")
    now = time.time()
    response = JsonResponse(jwks_document(now))
    patch_cache_control(response, public=True, max_age=jwks_max_age(now))
    return response
