"""``jwt_required``: restflow's JWT check in front of a plain async Django view.

DRF's ``APIView`` has no async ``dispatch``, so the demo's async endpoint is a Django
``async def`` view and authenticates with ``JWTAuthentication().aauthenticate``, whose
blacklist read and user query are awaited (restflow's async paths). Refusals answer as
the catalogue's DRF views do, with the code added: ``401 {"detail": ..., "code": ...}``
with ``WWW-Authenticate: Bearer realm="api"`` for a missing, malformed, expired or
blacklisted token (``503`` when the blacklist or the signing keys are out of reach).
A misconfigured server (``JWTConfigurationError``) is not a client error and propagates.

Put it *above* ``@cache_response``: the token is checked on every request, a cached
answer included, and ``request.user`` / ``request.auth`` are set before the cached layer
reads them (``public=True`` says the answer is the same for every signed-in user).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, NotAuthenticated

from restflow.authentication import JWTAuthentication

AsyncView = Callable[..., Awaitable[HttpResponse]]


def refusal(exc: APIException, request: HttpRequest) -> JsonResponse:
    """``exc`` as a JSON answer: its status, detail and code; the challenge on a 401."""
    response = JsonResponse({"detail": str(exc.detail), "code": exc.get_codes()}, status=exc.status_code)
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = JWTAuthentication().authenticate_header(request)
    return response


def jwt_required(view: AsyncView) -> AsyncView:
    """Serve ``view`` only to requests with a valid access token (``Authorization: Bearer``)."""
    if not iscoroutinefunction(view):  # asgiref's: it sees cache_response's marked wrapper
        raise TypeError(f"jwt_required wraps async views; {view!r} is not one")

    # ``updated=()``: the cached view's attributes stay on it (``__wrapped__`` reaches it).
    @functools.wraps(view, updated=())
    async def authenticated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            found = await JWTAuthentication().aauthenticate(request)
        except APIException as exc:
            return refusal(exc, request)
        if found is None:  # no Authorization header, or another scheme
            return refusal(NotAuthenticated(), request)
        request.user, request.auth = found  # type: ignore[attr-defined]
        return await view(request, *args, **kwargs)

    return authenticated
