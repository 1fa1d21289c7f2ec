"""A blacklist store that fails means 503, never a token, never a 500."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import RequestFactory
from jwt_testapp.support import AUTH, BLACKLIST, PASSWORD, REFRESH, SECRET, VERIFY, WHOAMI, bearer
from restflow_testbed.plugin import redis_cache_settings

from restflow.authentication import BlacklistBackend, JWTAuthentication
from restflow.authentication.exceptions import BlacklistUnavailable
from restflow.log import reset_log_throttle

pytestmark = pytest.mark.django_db


def obtain(client: Any) -> dict[str, str]:
    response = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Token revocation list is unavailable; try again later."
    assert "access" not in body
    assert "refresh" not in body
    assert "Traceback" not in response.content.decode()


@pytest.mark.redis
@pytest.mark.parametrize("cache_backend", ["django", "django_redis"])
def test_redis_down_fails_closed_and_recovers(
    user: Any, client: Any, settings: Any, private_redis: Any, caplog: Any, cache_backend: str
) -> None:
    server = private_redis()
    settings.CACHES = {"default": redis_cache_settings(server.db_url(0), backend=cache_backend)}
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET}}
    tokens = obtain(client)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200
    server.stop()
    reset_log_throttle()
    with caplog.at_level(logging.ERROR, logger="restflow.authentication"):
        assert_unavailable(client.get(WHOAMI, **bearer(tokens["access"])))
    assert "blacklist backend failed" in caplog.text
    assert_unavailable(client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))
    assert_unavailable(client.post(VERIFY, {"token": tokens["access"]}, format="json"))
    assert_unavailable(client.post(BLACKLIST, {"refresh": tokens["refresh"]}, format="json"))
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    with pytest.raises(BlacklistUnavailable):
        async_to_sync(JWTAuthentication().aauthenticate)(request)
    server.start()
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200


class BrokenBackend(BlacklistBackend):
    def blacklist(self, jti: str, *, expires_at: int) -> None:
        raise OSError("disk on fire")

    def is_blacklisted(self, jti: str) -> bool:
        raise OSError("disk on fire")


def test_any_backend_error_fails_closed(user: Any, client: Any, configure_jwt: Any) -> None:
    tokens = obtain(client)
    configure_jwt(BLACKLIST_BACKEND=BrokenBackend)
    assert_unavailable(client.get(WHOAMI, **bearer(tokens["access"])))
    assert_unavailable(client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))
    configure_jwt(BLACKLIST_BACKEND=BrokenBackend, ROTATE_REFRESH_TOKENS=False)
    assert_unavailable(client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))


def test_misconfigured_blacklist_is_not_hidden_as_client_error(
    user: Any, client: Any, configure_jwt: Any
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    tokens = obtain(client)
    configure_jwt(BLACKLIST_ALLOW_LOCMEM=False)
    client.raise_request_exception = True
    with pytest.raises(ImproperlyConfigured, match="BLACKLIST_ALLOW_LOCMEM"):
        client.get(WHOAMI, **bearer(tokens["access"]))
