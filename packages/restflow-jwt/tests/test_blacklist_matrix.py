"""The JWT cache blacklist on every backend of the matrix (docs/caching.md, Scaling out;
docs/jwt.md): login, rotation, a replayed refresh token refused (its session revoked),
logout, sync and async authentication, on the test bed's real servers. memcached may
evict entries before they expire: the cache blacklist refuses it (check ``E011``, and a
clear error at use), as documented."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.checks import run_checks
from django.test import RequestFactory, override_settings
from jwt_testapp.support import AUTH, BLACKLIST, PASSWORD, REFRESH, SECRET, WHOAMI, bearer
from rest_framework.exceptions import AuthenticationFailed
from restflow_testbed.cache_matrix import MATRIX_BACKENDS, matrix_cache

from restflow.authentication import (
    CacheBlacklistBackend,
    JWTAuthentication,
    RefreshToken,
    TokenBlacklist,
)
from restflow.authentication.exceptions import JWTConfigurationError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

REFUSED = {"memcached_pool"}  # evicts before expiry: documented as refused (E011)


@pytest.fixture(params=MATRIX_BACKENDS)
def matrix(request: pytest.FixtureRequest) -> Iterator[str]:
    jwt = {"SIGNING_KEY": SECRET, "BLACKLIST_ALLOW_LOCMEM": request.param == "locmem"}
    with matrix_cache(request.param, request), override_settings(RESTFLOW_SETTINGS={"JWT": jwt}):
        yield request.param


def obtain(client: Any) -> dict[str, str]:
    response = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def refresh(client: Any, token: str) -> Any:
    return client.post(REFRESH, {"refresh": token}, format="json")


def aauthenticate(access: str) -> Any:
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}")
    return async_to_sync(JWTAuthentication().aauthenticate)(request)


def assert_refused(client: Any) -> None:
    """The documented behaviour of a cache that evicts: a start-up error naming the alias
    and the fix, and the same error (never a silent acceptance) if the server runs anyway."""
    errors = [m for m in run_checks() if m.id == "restflow_authentication.E011"]
    assert len(errors) == 1
    assert "BLACKLIST_CACHE_ALIAS = 'default'" in errors[0].msg
    assert "ModelBlacklistBackend" in str(errors[0].hint)
    with pytest.raises(JWTConfigurationError, match="drops entries before they expire"):
        TokenBlacklist.is_blacklisted("some-token-id")
    with pytest.raises(JWTConfigurationError):
        refresh(client, obtain(client)["refresh"])


def test_rotation_replay_and_logout(matrix: str, user: Any, client: Any) -> None:
    if matrix in REFUSED:
        assert_refused(client)
        return
    stolen = obtain(client)
    other = obtain(client)
    rotated = refresh(client, stolen["refresh"])
    assert rotated.status_code == 200, rotated.content
    legit = rotated.json()
    assert client.get(WHOAMI, **bearer(legit["access"])).status_code == 200
    assert aauthenticate(legit["access"])[0] == user
    replay = refresh(client, stolen["refresh"])  # the rotated token, replayed
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    # its whole session is revoked, sync and async; the other session is not
    assert client.get(WHOAMI, **bearer(legit["access"])).status_code == 401
    with pytest.raises(AuthenticationFailed):
        aauthenticate(legit["access"])
    assert refresh(client, legit["refresh"]).status_code == 401
    assert aauthenticate(other["access"])[0] == user
    # logout of the other session
    out = client.post(BLACKLIST, {"refresh": other["refresh"]}, format="json")
    assert out.status_code in (200, 204, 205), out.content
    assert refresh(client, other["refresh"]).status_code == 401
    assert TokenBlacklist.is_blacklisted(RefreshToken.verify(other["refresh"]).jti)
    assert async_to_sync(TokenBlacklist.ais_blacklisted)(RefreshToken.verify(other["refresh"]).jti)


def test_async_backend_methods(matrix: str) -> None:
    """The async half of the cache backend: atomic consume, blacklist, read."""
    if matrix in REFUSED:
        with pytest.raises(JWTConfigurationError):
            async_to_sync(CacheBlacklistBackend().aconsume)("t1", expires_at=int(time.time()) + 60)
        return
    backend = CacheBlacklistBackend()
    expires_at = int(time.time()) + 60

    async def scenario() -> list[Any]:
        return [
            await backend.aconsume("t1", expires_at=expires_at),
            await backend.aconsume("t1", expires_at=expires_at),  # a replay
            await backend.ais_blacklisted("t2"),
            await backend.ablacklist("t2", expires_at=expires_at),
            await backend.ais_blacklisted("t2"),
            # stored values: raw digits where the reader skips decoding (Django's RedisCache)
            [None if v is None else int(v) for v in await backend.alookup_values(("t1", "t2", "t3"))],
        ]

    assert async_to_sync(scenario)() == [True, False, False, None, True, [1, 1, None]]
    assert backend.is_blacklisted("t1")
    assert backend.is_blacklisted("t2")
