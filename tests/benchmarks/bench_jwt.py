"""JWT comparisons: restflow vs djangorestframework-simplejwt (and a hand-written floor)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench_env import bench_user, caches_for
from bench_harness import Contender, compare, each, make_record
from django.conf import settings
from django.core.cache import caches
from django.test import RequestFactory, override_settings

OPTIONS: dict[str, Any] = {"rounds": 15, "min_block": 0.05}


def _restflow_settings(blacklist: bool) -> dict[str, Any]:
    return {
        "JWT": {
            "SIGNING_KEY": settings.JWT_SECRET,
            "BLACKLIST_ENABLED": blacklist,
            "ACCESS_TOKEN_LIFETIME": settings.LIFETIME,
        }
    }


def _auth_contenders(user: Any, blacklist: bool) -> list[Contender]:
    import jwt
    from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleAuth
    from rest_framework_simplejwt.tokens import AccessToken as SimpleAccess

    from restflow.authentication import JWTAuthentication, RefreshToken

    factory = RequestFactory()
    ours = str(RefreshToken.for_user(user).access_token)  # with a session (sid), as logins issue
    theirs = str(SimpleAccess.for_user(user))
    ours_request = factory.get("/", HTTP_AUTHORIZATION=f"Bearer {ours}")
    theirs_request = factory.get("/", HTTP_AUTHORIZATION=f"Bearer {theirs}")
    restflow_auth, simple_auth = JWTAuthentication(), SimpleAuth()
    model = type(user)
    cache = caches["default"]
    key = settings.JWT_SECRET

    def restflow() -> None:
        found, _ = restflow_auth.authenticate(ours_request)  # type: ignore[misc]
        assert found.pk == user.pk

    def simplejwt() -> None:
        found, _ = simple_auth.authenticate(theirs_request)  # type: ignore[misc, arg-type]
        assert found.pk == user.pk

    def floor() -> None:
        header = ours_request.META["HTTP_AUTHORIZATION"]
        payload = jwt.decode(header.split()[1], key, algorithms=["HS256"])
        if blacklist and any(
            cache.get_many([f"restflow:jwt:bl:{payload['jti']}", f"restflow:jwt:bl:f:{payload['sid']}"])
        ):
            raise AssertionError("blacklisted")
        found = model._default_manager.get(id=payload["user_id"])
        assert found.is_active

    return [
        Contender("restflow", each(restflow)),
        Contender("simplejwt", each(simplejwt)),
        Contender("floor", each(floor)),
    ]


def bench_authenticate(blacklist: bool) -> dict[str, Any]:
    with override_settings(CACHES=caches_for("redis"), RESTFLOW_SETTINGS=_restflow_settings(blacklist)):
        user = bench_user()
        result = compare(_auth_contenders(user, blacklist), **OPTIONS)
    state = "on" if blacklist else "off"
    floor_text = (
        "PyJWT decode + one cache get_many (token id + session record) + one user query"
        if blacklist
        else "PyJWT decode + user query"
    )
    targets = (
        [("restflow", "simplejwt", 1.0), ("restflow", "floor", 1.05)]
        if blacklist
        else [("restflow", "simplejwt", 0.95)]
    )
    return make_record(
        f"jwt.authenticate.blacklist_{state}",
        f"JWTAuthentication.authenticate(), blacklist {state.upper()}",
        "redis",
        result,
        ratios=[("restflow", "simplejwt"), ("restflow", "floor")],
        targets=targets,
        notes=f"restflow's token carries a session (sid): its id and its session record are read "
        f"in one MGET. simplejwt checks no blacklist on access tokens; floor = {floor_text}.",
    )


def _views() -> tuple[Any, Any]:
    from rest_framework.permissions import IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleAuth

    from restflow.authentication import JWTAuthentication

    class RestflowMe(APIView):
        authentication_classes = [JWTAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request: Any) -> Response:
            return Response({"id": request.user.pk, "username": request.user.username})

    class SimpleMe(RestflowMe):
        authentication_classes = [SimpleAuth]

    return RestflowMe.as_view(), SimpleMe.as_view()


def _requests_block(view: Callable[..., Any], make_request: Callable[[], Any]) -> Callable[[int], Any]:
    def make(n: int) -> Callable[[], None]:
        requests = [make_request() for _ in range(n)]

        def block() -> None:
            for request in requests:
                response = view(request)
                response.render()
                if response.status_code != 200:
                    raise AssertionError(f"{response.status_code}: {response.content[:200]!r}")

        return block

    return make


def bench_dispatch() -> dict[str, Any]:
    from rest_framework_simplejwt.tokens import AccessToken as SimpleAccess

    from restflow.authentication import RefreshToken

    with override_settings(CACHES=caches_for("redis"), RESTFLOW_SETTINGS=_restflow_settings(True)):
        user = bench_user()
        factory = RequestFactory()
        ours = f"Bearer {RefreshToken.for_user(user).access_token}"
        theirs = f"Bearer {SimpleAccess.for_user(user)}"
        restflow_view, simple_view = _views()
        result = compare(
            [
                Contender("restflow", _requests_block(
                    restflow_view, lambda: factory.get("/me/", HTTP_AUTHORIZATION=ours))),
                Contender("simplejwt", _requests_block(
                    simple_view, lambda: factory.get("/me/", HTTP_AUTHORIZATION=theirs))),
            ],
            **OPTIONS,
        )
    return make_record(
        "jwt.dispatch",
        "Authenticated GET through DRF dispatch (APIView + IsAuthenticated, rendered)",
        "redis",
        result,
        ratios=[("restflow", "simplejwt")],
        targets=[("restflow", "simplejwt", 1.0)],
        notes="restflow with its blacklist check ON; simplejwt checks none on access tokens.",
    )


def bench_refresh() -> dict[str, Any]:
    from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefresh
    from rest_framework_simplejwt.views import TokenRefreshView as SimpleRefreshView

    from restflow.authentication import RefreshToken, TokenRefreshView

    restflow_settings = {
        "JWT": {
            "SIGNING_KEY": settings.JWT_SECRET,
            "ROTATE_REFRESH_TOKENS": True,
            "ACCESS_TOKEN_LIFETIME": settings.LIFETIME,
        }
    }
    with override_settings(CACHES=caches_for("redis"), RESTFLOW_SETTINGS=restflow_settings):
        user = bench_user()
        factory = RequestFactory()

        def post(token: str) -> Any:
            return factory.post(
                "/refresh/", json.dumps({"refresh": token}), content_type="application/json"
            )

        ours_view, theirs_view = TokenRefreshView.as_view(), SimpleRefreshView.as_view()
        result = compare(
            [
                Contender("restflow", _requests_block(
                    ours_view, lambda: post(str(RefreshToken.for_user(user))))),
                Contender("simplejwt", _requests_block(
                    theirs_view, lambda: post(str(SimpleRefresh.for_user(user))))),
            ],
            count_ops=10,
            **{**OPTIONS, "max_loops": 2000},
        )
    return make_record(
        "jwt.refresh",
        "Refresh view with rotation (restflow blacklist on Redis; simplejwt blacklist app)",
        "redis",
        result,
        ratios=[("restflow", "simplejwt")],
        targets=[("restflow", "simplejwt", 1.0)],
        notes="Each operation redeems a fresh refresh token (minted untimed).",
    )


def _verify_under(jwt_settings: dict[str, Any], token: str) -> Callable[[int], Any]:
    """Blocks of ``AccessToken.verify(token)`` under ``jwt_settings`` (entered once a block)."""
    from restflow.authentication import AccessToken

    def make(n: int) -> Callable[[], None]:
        def block() -> None:
            with override_settings(RESTFLOW_SETTINGS=jwt_settings):
                for _ in range(n):
                    AccessToken.verify(token)

        return block

    return make


def bench_key_ring() -> dict[str, Any]:
    """Verifying with a ring of three keys (next, active, retired) against one key."""
    from datetime import UTC, datetime

    from restflow.authentication import AccessToken

    one = {"JWT": {"SIGNING_KEY": settings.JWT_SECRET, "ACCESS_TOKEN_LIFETIME": settings.LIFETIME}}
    ring = {
        "JWT": {
            "ACCESS_TOKEN_LIFETIME": settings.LIFETIME,
            "SIGNING_KEYS": [
                {"KEY": settings.JWT_SECRET + "-next", "STATE": "next"},
                {"KEY": settings.JWT_SECRET, "STATE": "active", "KID": "current"},
                {"KEY": settings.JWT_SECRET + "-old", "STATE": "retired", "RETIRED_AT": datetime.now(tz=UTC)},
            ],
        }
    }
    user = bench_user()
    tokens = {}
    for name, jwt_settings in (("one_key", one), ("ring_of_3", ring)):
        with override_settings(RESTFLOW_SETTINGS=jwt_settings):
            tokens[name] = str(AccessToken.for_user(user))
    result = compare(
        [
            Contender("ring_of_3", _verify_under(ring, tokens["ring_of_3"])),
            Contender("one_key", _verify_under(one, tokens["one_key"])),
        ],
        **OPTIONS,
    )
    return make_record(
        "jwt.verify.key_ring",
        "AccessToken.verify() with a ring of 3 HS256 keys vs SIGNING_KEY alone",
        "-",
        result,
        ratios=[("ring_of_3", "one_key")],
        targets=[("ring_of_3", "one_key", 1.05)],
        notes="The kid lookup is one dict access either way; limit 1.05 = equal within noise.",
    )


def run() -> list[dict[str, Any]]:
    return [
        bench_authenticate(True),
        bench_authenticate(False),
        bench_dispatch(),
        bench_refresh(),
        bench_key_ring(),
    ]
