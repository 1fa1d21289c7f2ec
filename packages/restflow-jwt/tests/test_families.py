"""Token families (sessions): reuse of a rotated refresh token revokes the whole family."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import RequestFactory
from jwt_testapp.backends import SyncOnly
from jwt_testapp.race import race, run_in_processes
from jwt_testapp.support import AUTH, BLACKLIST, PASSWORD, REFRESH, SECRET, VERIFY, WHOAMI, bearer
from restflow_testbed.plugin import redis_cache_settings

from restflow.authentication import (
    AccessToken,
    CacheBlacklistBackend,
    JWTAuthentication,
    RefreshToken,
    TokenBlacklist,
)
from restflow.authentication.signals import session_revoked

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "restflow.authentication.jwt.ModelBlacklistBackend"
N = 50


@pytest.fixture(params=["redis", "django_redis", "model", "custom"])
def store(request: Any, settings: Any) -> str:
    """Every blacklist backend the docs name: Django's RedisCache, django-redis, the model
    backend (the test database), and a backend written against the base class."""
    if request.param in ("redis", "django_redis"):
        url = request.getfixturevalue("redis_url")
        backend = "django" if request.param == "redis" else "django_redis"
        settings.CACHES = {"default": redis_cache_settings(url, backend=backend)}
        settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET}}
    elif request.param == "model":
        settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET, "BLACKLIST_BACKEND": MODEL}}
    else:
        settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET, "BLACKLIST_BACKEND": SyncOnly()}}
    return str(request.param)


def obtain(client: Any) -> dict[str, str]:
    response = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def refresh(client: Any, token: str) -> Any:
    return client.post(REFRESH, {"refresh": token}, format="json")


def test_login_starts_a_family_and_rotation_keeps_it(user: Any, client: Any, store: str) -> None:
    tokens = obtain(client)
    sid = RefreshToken.verify(tokens["refresh"]).sid
    assert sid
    assert AccessToken.verify(tokens["access"]).sid == sid
    rotated = refresh(client, tokens["refresh"]).json()
    assert RefreshToken.verify(rotated["refresh"]).sid == sid
    assert AccessToken.verify(rotated["access"]).sid == sid
    assert RefreshToken.verify(obtain(client)["refresh"]).sid != sid  # a second login


def test_reuse_revokes_the_family(user: Any, client: Any, store: str) -> None:
    stolen = obtain(client)
    other_device = obtain(client)
    legit = refresh(client, stolen["refresh"]).json()  # the holder rotates first
    assert client.get(WHOAMI, **bearer(legit["access"])).status_code == 200
    replay = refresh(client, stolen["refresh"])  # the thief replays the rotated token
    assert replay.status_code == 401
    assert replay.json()["detail"] == "Refresh token was already used; its session has been revoked."
    # every token of the family fails at its next use: refresh, access, verify
    assert refresh(client, legit["refresh"]).json()["detail"] == "Session has been revoked."
    denied = client.get(WHOAMI, **bearer(legit["access"]))
    assert denied.status_code == 401
    assert denied.json()["detail"] == "Token has been blacklisted."
    assert client.get(WHOAMI, **bearer(stolen["access"])).status_code == 401
    assert client.post(VERIFY, {"token": legit["access"]}, format="json").status_code == 401
    # another session of the same user is untouched
    assert client.get(WHOAMI, **bearer(other_device["access"])).status_code == 200
    assert refresh(client, other_device["refresh"]).status_code == 200


def test_thief_rotating_first_is_cut_off_when_the_holder_comes_back(
    user: Any, client: Any, store: str
) -> None:
    tokens = obtain(client)
    thief = refresh(client, tokens["refresh"]).json()
    assert client.get(WHOAMI, **bearer(thief["access"])).status_code == 200
    assert refresh(client, tokens["refresh"]).status_code == 401  # the holder's turn
    assert client.get(WHOAMI, **bearer(thief["access"])).status_code == 401
    assert refresh(client, thief["refresh"]).status_code == 401


def test_replay_of_the_oldest_token_of_a_long_chain(user: Any, client: Any, store: str) -> None:
    tokens = obtain(client)
    oldest = current = tokens["refresh"]
    for _ in range(20):
        body = refresh(client, current).json()
        current = body["refresh"]
    assert client.get(WHOAMI, **bearer(body["access"])).status_code == 200
    assert refresh(client, oldest).status_code == 401
    assert client.get(WHOAMI, **bearer(body["access"])).status_code == 401
    assert refresh(client, current).status_code == 401


def test_logout_ends_the_session_on_every_device(user: Any, client: Any, store: str) -> None:
    tokens = obtain(client)
    kept = obtain(client)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200
    assert client.post(BLACKLIST, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401
    assert client.get(WHOAMI, **bearer(kept["access"])).status_code == 200


def test_async_authentication_checks_the_family(user: Any, client: Any, store: str) -> None:
    tokens = obtain(client)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    authenticate = async_to_sync(JWTAuthentication().aauthenticate)
    assert authenticate(request) is not None
    TokenBlacklist.revoke_family(AccessToken.verify(tokens["access"]).sid)
    with pytest.raises(Exception, match="blacklisted"):
        authenticate(request)


def test_reuse_sends_session_revoked(user: Any, client: Any, store: str) -> None:
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    session_revoked.connect(receiver)
    try:
        tokens = obtain(client)
        refresh(client, tokens["refresh"])
        refresh(client, tokens["refresh"])
    finally:
        session_revoked.disconnect(receiver)
    assert [(s["reason"], s["sid"], s["user_id"]) for s in seen] == [
        ("reuse", RefreshToken.verify(tokens["refresh"]).sid, user.pk)
    ]


def test_tokens_issued_before_families_get_one_on_rotation(user: Any, client: Any, store: str) -> None:
    legacy = RefreshToken.for_user(user).payload
    del legacy["sid"]
    old = RefreshToken.from_payload(legacy)
    body = refresh(client, str(old)).json()
    sid = RefreshToken.verify(body["refresh"]).sid
    assert sid
    assert AccessToken.verify(body["access"]).sid == sid
    assert refresh(client, str(old)).status_code == 401  # reuse of the legacy token
    assert client.get(WHOAMI, **bearer(body["access"])).status_code == 401


# --- grace window -----------------------------------------------------------------------


GRACE_STORES = pytest.mark.parametrize("store", ["redis", "django_redis", "model"], indirect=True)


@GRACE_STORES
def test_grace_window_retry_gets_the_same_pair(user: Any, client: Any, store: str, settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "ROTATION_GRACE_PERIOD": 30}}
    tokens = obtain(client)
    first = refresh(client, tokens["refresh"]).json()
    retry = refresh(client, tokens["refresh"])  # the first response was lost
    assert retry.status_code == 200
    assert retry.json() == first
    assert client.get(WHOAMI, **bearer(first["access"])).status_code == 200
    assert refresh(client, first["refresh"]).status_code == 200  # the branch goes on


@GRACE_STORES
def test_reuse_after_the_grace_window_revokes(
    user: Any, client: Any, store: str, settings: Any, monkeypatch: Any
) -> None:
    import restflow.authentication.rotation as rotation

    settings.RESTFLOW_SETTINGS = {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "ROTATION_GRACE_PERIOD": 30}}
    tokens = obtain(client)
    first = refresh(client, tokens["refresh"]).json()
    later = time.time() + 31  # the retry comes after the window
    monkeypatch.setattr(rotation, "time", SimpleNamespace(time=lambda: later))
    assert refresh(client, tokens["refresh"]).status_code == 401
    assert client.get(WHOAMI, **bearer(first["access"])).status_code == 401


def test_grace_window_is_off_by_default(user: Any, client: Any, store: str) -> None:
    tokens = obtain(client)
    refresh(client, tokens["refresh"])
    assert refresh(client, tokens["refresh"]).status_code == 401


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["redis", "model"], indirect=True)
def test_concurrent_refreshes_mint_one_pair(user: Any, store: str) -> None:
    """Without grace: one winner; the others are reuse, so the family ends (the RFC's
    choice: concurrent use of one refresh token cannot be told apart from theft)."""
    token = RefreshToken.for_user(user)
    bodies: list[Any] = []
    statuses = race(str(token), N, bodies=bodies)
    assert sorted(statuses) == [200] + [401] * (N - 1)
    assert TokenBlacklist.is_blacklisted("", token.sid)


@pytest.mark.parametrize("store", ["redis", "model"], indirect=True)
def test_concurrent_retries_in_the_grace_window_get_the_same_pair(
    user: Any, store: str, settings: Any
) -> None:
    settings.RESTFLOW_SETTINGS = {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "ROTATION_GRACE_PERIOD": 60}}
    token = RefreshToken.for_user(user)
    bodies: list[Any] = []
    statuses = race(str(token), N, bodies=bodies)
    assert statuses == [200] * N
    assert len({(b["access"], b["refresh"]) for b in bodies}) == 1
    assert not TokenBlacklist.is_blacklisted("", token.sid)


# --- the store fails mid-refresh --------------------------------------------------------


@pytest.mark.redis
def test_redis_stopped_mid_refresh_fails_closed_without_a_second_child(
    user: Any, settings: Any, private_redis: Any
) -> None:
    """The test bed's Redis is stopped (by its pid) while refreshes are in flight, right
    after the first racer redeemed the token: it gets the one pair, every other racer 503
    (fail closed, even inside the grace window), never a 500 and never a second child."""
    server = private_redis()
    settings.CACHES = {"default": redis_cache_settings(server.db_url(0))}
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET}}
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET, "ROTATION_GRACE_PERIOD": 60}}
    token = RefreshToken.for_user(user)
    first_done, stopped = threading.Event(), threading.Event()
    lock = threading.Lock()
    original = CacheBlacklistBackend.redeem

    def redeem_in_two_phases(self: Any, jti: str, **kwargs: Any) -> Any:
        with lock:
            first = not first_done.is_set()
            if first:  # the first racer redeems while Redis is up ...
                result = original(self, jti, **kwargs)
                first_done.set()
                return result
        stopped.wait(30)  # ... everyone else after it was stopped
        return original(self, jti, **kwargs)

    def stop_redis() -> None:
        first_done.wait(30)
        server.stop()
        stopped.set()

    CacheBlacklistBackend.redeem = redeem_in_two_phases  # type: ignore[method-assign]
    try:
        bodies: list[Any] = []
        statuses = race(str(token), N, before=stop_redis, bodies=bodies)
    finally:
        CacheBlacklistBackend.redeem = original  # type: ignore[method-assign]
    assert sorted(statuses) == [200] + [503] * (N - 1)
    assert len(bodies) == 1


@pytest.mark.redis
def test_redis_down_before_redeem_gives_503_and_no_token(
    user: Any, client: Any, settings: Any, private_redis: Any
) -> None:
    server = private_redis()
    settings.CACHES = {"default": redis_cache_settings(server.db_url(0))}
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET}}
    tokens = obtain(client)
    original = CacheBlacklistBackend.redeem

    def stop_then_redeem(self: Any, jti: str, **kwargs: Any) -> Any:
        server.stop()  # after the family check passed, before the redemption
        return original(self, jti, **kwargs)

    CacheBlacklistBackend.redeem = stop_then_redeem  # type: ignore[method-assign]
    try:
        response = refresh(client, tokens["refresh"])
    finally:
        CacheBlacklistBackend.redeem = original  # type: ignore[method-assign]
    assert response.status_code == 503
    assert set(response.json()) == {"detail"}


# --- processes --------------------------------------------------------------------------


def _process_config(store: str, settings: Any, **jwt: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"RESTFLOW_SETTINGS": {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], **jwt}}}
    if store == "redis":
        config["CACHES"] = settings.CACHES
    return config


def _processes(store: str) -> int:
    """Five worker processes on a database that takes concurrent writers, else two."""
    return 5 if store == "redis" or connection.vendor in ("postgresql", "mysql") else 2


@pytest.mark.slow
@pytest.mark.parametrize("store", ["redis", "model"], indirect=True)
@pytest.mark.parametrize("grace", [0, 60])
def test_processes_racing_mint_one_pair(
    user: Any, store: str, grace: int, settings: Any, tmp_path: Any
) -> None:
    """Without grace: one 200, the others reuse, the session ends. In the grace window:
    every racer gets that same pair and the session lives on."""
    token = RefreshToken.for_user(user)
    config = _process_config(store, settings, ROTATION_GRACE_PERIOD=grace)
    statuses, bodies = run_in_processes(config, str(token), tmp_path, processes=_processes(store), total=N)
    assert sorted(statuses) == ([200] * N if grace else [200] + [401] * (N - 1))
    assert len(bodies) == (N if grace else 1)
    assert len({(b["access"], b["refresh"]) for b in bodies}) == 1
    assert TokenBlacklist.is_blacklisted("", token.sid) is not bool(grace)


EPOCH_STORES = pytest.mark.parametrize("store", ["redis", "django_redis", "model"], indirect=True)


@EPOCH_STORES
def test_user_epoch_ends_every_session_of_the_user_only(
    user: Any, django_user_model: Any, client: Any, store: str
) -> None:
    """One record ends every session of the user: access tokens (sync and async), refresh
    tokens (rotated ones too), verify; another user and a login after it are untouched."""
    old = [obtain(client) for _ in range(3)]
    rotated = refresh(client, old[0]["refresh"]).json()
    django_user_model.objects.create_user(username="bob", password=PASSWORD)
    bob = client.post(AUTH, {"username": "bob", "password": PASSWORD}, format="json").json()
    TokenBlacklist.revoke_user(user.pk)
    for tokens in [*old[1:], rotated]:
        assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401
        assert refresh(client, tokens["refresh"]).json()["detail"] == "Session has been revoked."
        assert client.post(VERIFY, {"token": tokens["access"]}, format="json").status_code == 401
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {rotated['access']}")
    with pytest.raises(Exception, match="blacklisted"):
        async_to_sync(JWTAuthentication().aauthenticate)(request)
    assert client.get(WHOAMI, **bearer(bob["access"])).status_code == 200
    fresh = obtain(client)
    assert client.get(WHOAMI, **bearer(fresh["access"])).status_code == 200
    assert refresh(client, fresh["refresh"]).status_code == 200


@EPOCH_STORES
def test_password_change_ends_sessions_without_tracking(user: Any, client: Any, store: str) -> None:
    """With the blacklist on, a new password ends every session even without
    TRACK_SESSIONS: the epoch needs no registry."""
    tokens = obtain(client)
    user.first_name = "Alice"
    user.save()
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200
    user.set_password("a new password for alice")
    user.save()
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401
    assert refresh(client, tokens["refresh"]).status_code == 401
    again = client.post(AUTH, {"username": "alice", "password": "a new password for alice"}, format="json")
    assert client.get(WHOAMI, **bearer(again.json()["access"])).status_code == 200


@EPOCH_STORES
@pytest.mark.parametrize("save", ["save", "update_fields"])
def test_deactivation_ends_sessions_for_good(user: Any, client: Any, store: str, save: str) -> None:
    """A deactivated account's tokens fail at once (401 user_inactive), and reactivating
    it does not bring its old sessions back (the user's epoch); a login after it works."""
    tokens = obtain(client)
    user.is_active = False
    user.save()
    response = client.get(WHOAMI, **bearer(tokens["access"]))
    assert response.status_code == 401
    assert response.json()["detail"] == "User is inactive."
    user.is_active = True
    user.save(**({"update_fields": ["is_active"]} if save == "update_fields" else {}))
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401
    assert refresh(client, tokens["refresh"]).status_code == 401
    again = obtain(client)
    assert client.get(WHOAMI, **bearer(again["access"])).status_code == 200
    user.is_active = True  # saving an active user again ends nothing
    user.save(update_fields=["is_active", "first_name"])
    assert client.get(WHOAMI, **bearer(again["access"])).status_code == 200


@EPOCH_STORES
def test_reactivation_without_the_active_check_ends_nothing(
    user: Any, client: Any, store: str, settings: Any
) -> None:
    """CHECK_USER_IS_ACTIVE off: inactive users keep authenticating, so neither the
    deactivation nor the reactivation ends their sessions."""
    settings.RESTFLOW_SETTINGS = {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "CHECK_USER_IS_ACTIVE": False}}
    tokens = obtain(client)
    for active in (False, True):
        user.is_active = active
        user.save()
        assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200


def test_user_epoch_on_a_backend_without_it(user: Any, client: Any, settings: Any) -> None:
    """A backend written against the base class (no set_user_epoch): requests skip the
    epoch key, and a password change without TRACK_SESSIONS leaves sessions alone."""
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET, "BLACKLIST_BACKEND": SyncOnly()}}
    tokens = obtain(client)
    assert not TokenBlacklist.supports_user_epochs()
    user.set_password("a new password for alice")
    user.save()
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200


def test_session_ids_carry_their_start() -> None:
    from restflow.authentication.session_ids import new_session_id, session_started_ms

    before = time.time_ns() // 1_000_000
    sid = new_session_id()
    assert before <= session_started_ms(sid) <= time.time_ns() // 1_000_000  # type: ignore[operator]
    assert len(sid) == 34
    assert session_started_ms("x" * 22) is None  # an id from before the prefix
    assert session_started_ms("zz" + sid[2:]) is None
