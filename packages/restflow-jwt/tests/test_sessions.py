"""The sessions API: list, end one, log out everywhere; SESSION_LIMIT; password change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from jwt_testapp.support import AUTH, BLACKLIST, PASSWORD, REFRESH, SECRET, WHOAMI, bearer
from rest_framework.test import APIClient
from restflow_testbed.plugin import redis_cache_settings

from restflow.authentication import AccessToken, RefreshToken, revoke_user_sessions
from restflow.authentication.models import BlacklistedToken, TokenSession
from restflow.authentication.signals import REVOCATION_REASONS, session_created, session_revoked

pytestmark = pytest.mark.django_db

SESSIONS = "/jwt_testapp/auth/sessions/"
LOGOUT_ALL = SESSIONS + "logout-all/"
MODEL = "restflow.authentication.jwt.ModelBlacklistBackend"


@pytest.fixture(params=["redis", "model"])
def tracking(request: Any, settings: Any) -> dict[str, Any]:
    """Sessions tracked, the blacklist on Redis or in the database."""
    jwt: dict[str, Any] = {"SIGNING_KEY": SECRET, "TRACK_SESSIONS": True, "SESSION_RECORD_CLIENT": True}
    if request.param == "redis":
        settings.CACHES = {"default": redis_cache_settings(request.getfixturevalue("redis_url"))}
    else:
        jwt.update(BLACKLIST_BACKEND=MODEL, BLACKLIST_ALLOW_LOCMEM=True)
    settings.RESTFLOW_SETTINGS = {"JWT": jwt}
    return jwt


def login(agent: str = "test-agent") -> tuple[APIClient, dict[str, str]]:
    """A device: its own client, logged in, sending its access token."""
    device = APIClient(HTTP_USER_AGENT=agent)
    response = device.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    tokens = response.json()
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return device, tokens


def sid_of(tokens: dict[str, str]) -> str:
    return RefreshToken.verify(tokens["refresh"]).sid


def test_list_shows_live_sessions_and_marks_the_current_one(user: Any, tracking: Any) -> None:
    phone, phone_tokens = login("phone/1.0")
    _, laptop_tokens = login("laptop/2.0")
    listed = phone.get(SESSIONS)
    assert listed.status_code == 200
    by_id = {row["id"]: row for row in listed.json()}
    assert set(by_id) == {sid_of(phone_tokens), sid_of(laptop_tokens)}
    assert by_id[sid_of(phone_tokens)]["current"] is True
    assert by_id[sid_of(laptop_tokens)]["current"] is False
    assert by_id[sid_of(laptop_tokens)]["user_agent"] == "laptop/2.0"
    assert by_id[sid_of(laptop_tokens)]["ip_address"] == "127.0.0.1"
    assert {"created_at", "last_used_at", "expires_at"} <= set(by_id[sid_of(phone_tokens)])


def test_other_users_sessions_are_not_listed_nor_deletable(
    user: Any, tracking: Any, django_user_model: Any
) -> None:
    django_user_model.objects.create_user(username="bob", password=PASSWORD)
    mine, _ = login()
    bob = APIClient()
    bob_tokens = bob.post(AUTH, {"username": "bob", "password": PASSWORD}, format="json").json()
    assert [row["id"] for row in mine.get(SESSIONS).json()] != [sid_of(bob_tokens)]
    assert mine.delete(f"{SESSIONS}{sid_of(bob_tokens)}/").status_code == 404
    assert bob.get(WHOAMI, **bearer(bob_tokens["access"])).status_code == 200


def test_deleting_a_session_ends_it_on_that_device(user: Any, tracking: Any) -> None:
    phone, phone_tokens = login()
    laptop, laptop_tokens = login()
    assert phone.delete(f"{SESSIONS}{sid_of(laptop_tokens)}/").status_code == 204
    assert laptop.get(WHOAMI).status_code == 401
    assert laptop.post(REFRESH, {"refresh": laptop_tokens["refresh"]}, format="json").status_code == 401
    assert phone.get(WHOAMI).status_code == 200
    assert [row["id"] for row in phone.get(SESSIONS).json()] == [sid_of(phone_tokens)]
    assert phone.delete(f"{SESSIONS}{sid_of(laptop_tokens)}/").status_code == 404


def test_logout_all_on_one_device_kills_access_tokens_on_another(user: Any, tracking: Any) -> None:
    phone, _ = login()
    laptop, _ = login()
    assert laptop.get(WHOAMI).status_code == 200
    response = phone.post(LOGOUT_ALL, {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"ended": 2}
    assert laptop.get(WHOAMI).status_code == 401
    assert phone.get(WHOAMI).status_code == 401


def test_logout_all_can_keep_the_current_session(user: Any, tracking: Any) -> None:
    phone, phone_tokens = login()
    laptop, _ = login()
    tablet, _ = login()
    response = phone.post(LOGOUT_ALL, {"keep_current": True}, format="json")
    assert response.json() == {"ended": 2}
    assert laptop.get(WHOAMI).status_code == 401
    assert tablet.get(WHOAMI).status_code == 401
    assert phone.get(WHOAMI).status_code == 200
    assert phone.post(REFRESH, {"refresh": phone_tokens["refresh"]}, format="json").status_code == 200


@pytest.mark.parametrize("sessions", [1, 21])
def test_logout_all_is_one_blacklist_record(
    user: Any, settings: Any, django_assert_num_queries: Any, sessions: int
) -> None:
    """The model backend: ending n sessions writes one row (the user's revocation epoch,
    one upsert) however large n is, plus the registry's select and update: the same five
    queries for 1 session and for 21. A second logout-all moves the same row."""
    settings.RESTFLOW_SETTINGS = {
        "JWT": {"SIGNING_KEY": SECRET, "TRACK_SESSIONS": True, "BLACKLIST_BACKEND": MODEL}
    }
    device, _ = login()
    others = [login() for _ in range(sessions - 1)]
    with django_assert_num_queries(5):  # user, blacklist read, epoch upsert, live sids, UPDATE
        assert device.post(LOGOUT_ALL, {}, format="json").json() == {"ended": sessions}
    assert list(BlacklistedToken.objects.values_list("jti", flat=True)) == [f"u:{user.pk}"]
    for other, _ in others:
        assert other.get(WHOAMI).status_code == 401
    again, _ = login()
    first_epoch = BlacklistedToken.objects.get().created_at
    with django_assert_num_queries(5):
        assert again.post(LOGOUT_ALL, {}, format="json").json() == {"ended": 1}
    assert BlacklistedToken.objects.get().created_at > first_epoch
    assert again.get(WHOAMI).status_code == 401


def test_session_limit_ends_the_oldest(user: Any, tracking: Any, settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = {"JWT": {**tracking, "SESSION_LIMIT": 2}}
    first, first_tokens = login()
    second, _ = login()
    assert first.get(WHOAMI).status_code == 200
    third, _ = login()
    assert first.get(WHOAMI).status_code == 401
    assert first.post(REFRESH, {"refresh": first_tokens["refresh"]}, format="json").status_code == 401
    assert second.get(WHOAMI).status_code == 200
    assert third.get(WHOAMI).status_code == 200
    assert len(third.get(SESSIONS).json()) == 2
    assert TokenSession.objects.get(sid=sid_of(first_tokens)).revoke_reason == "limit"


def test_password_change_ends_every_session(user: Any, tracking: Any) -> None:
    phone, _ = login()
    laptop, _ = login()
    user.set_password("a new password for alice")
    user.save()
    assert phone.get(WHOAMI).status_code == 401
    assert laptop.get(WHOAMI).status_code == 401
    assert set(TokenSession.objects.values_list("revoke_reason", flat=True)) == {"password"}
    other = APIClient()
    tokens = other.post(AUTH, {"username": "alice", "password": "a new password for alice"}, format="json")
    assert other.get(WHOAMI, **bearer(tokens.json()["access"])).status_code == 200


def test_reactivation_ends_every_session_with_reason_admin(user: Any, tracking: Any) -> None:
    phone, _ = login()
    laptop, _ = login()
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()
    assert phone.get(WHOAMI).status_code == 401
    assert laptop.get(WHOAMI).status_code == 401
    assert set(TokenSession.objects.values_list("revoke_reason", flat=True)) == {"admin"}


def test_saving_the_user_without_a_new_password_keeps_sessions(user: Any, tracking: Any) -> None:
    phone, _ = login()
    user.first_name = "Alice"
    user.save()
    assert phone.get(WHOAMI).status_code == 200


def test_revoke_user_sessions_and_signals(user: Any, tracking: Any) -> None:
    created: list[str] = []
    revoked: list[tuple[str, str]] = []

    def on_created(sender: Any, sid: str, **kwargs: Any) -> None:
        created.append(sid)

    def on_revoked(sender: Any, sid: str, reason: str, **kwargs: Any) -> None:
        revoked.append((sid, reason))

    session_created.connect(on_created)
    session_revoked.connect(on_revoked)
    try:
        device, tokens = login()
        assert revoke_user_sessions(user) == 1
    finally:
        session_created.disconnect(on_created)
        session_revoked.disconnect(on_revoked)
    assert created == [sid_of(tokens)]
    assert revoked == [(sid_of(tokens), "admin")]
    assert device.get(WHOAMI).status_code == 401


def test_session_revoked_is_sent_once_per_session_with_its_reason(
    user: Any, tracking: Any, settings: Any
) -> None:
    """Every way a session ends, each reported once with the reason docs/jwt.md gives."""
    settings.RESTFLOW_SETTINGS = {"JWT": {**tracking, "SESSION_LIMIT": 3}}
    seen: list[tuple[str, str]] = []

    def on_revoked(sender: Any, sid: str, reason: str, **kwargs: Any) -> None:
        seen.append((sid, reason))

    session_revoked.connect(on_revoked)
    try:
        a, a_tokens = login()
        assert a.post(BLACKLIST, {"refresh": a_tokens["refresh"]}, format="json").status_code == 204
        b, b_tokens = login()
        assert b.delete(f"{SESSIONS}{sid_of(b_tokens)}/").status_code == 204
        c, c_tokens = login()
        assert c.post(REFRESH, {"refresh": c_tokens["refresh"]}, format="json").status_code == 200
        assert c.post(REFRESH, {"refresh": c_tokens["refresh"]}, format="json").status_code == 401
        d, e, f, g = (sid_of(login()[1]) for _ in range(4))  # g is one beyond the limit
        assert revoke_user_sessions(user, keep=g) == 2
        h, h_tokens = login()
        assert h.post(LOGOUT_ALL, {}, format="json").json() == {"ended": 2}
        _, i_tokens = login()
        user.set_password("a new password for alice")
        user.save()
    finally:
        session_revoked.disconnect(on_revoked)
    expected = {
        sid_of(a_tokens): "logout",  # the blacklist (logout) view
        sid_of(b_tokens): "logout",  # DELETE sessions/<id>/
        sid_of(c_tokens): "reuse",
        d: "limit",
        e: "admin",
        f: "admin",
        g: "logout",  # POST sessions/logout-all/
        sid_of(h_tokens): "logout",
        sid_of(i_tokens): "password",
    }
    assert dict(seen) == expected
    assert len(seen) == len(expected)
    assert set(expected.values()) == set(REVOCATION_REASONS)
    revoked = TokenSession.objects.values_list("sid", "revoke_reason")
    assert dict(revoked) == expected


def _stored_texts(store: str) -> list[str]:
    """Every key and value the blacklist store and the session registry hold."""
    texts = [str(value) for row in TokenSession.objects.values_list() for value in row]
    if store == "redis":
        from django.core.cache import caches

        client = caches["default"]._cache.get_client()  # type: ignore[attr-defined]
        for key in client.keys("*"):
            texts += [key.decode(), str(client.get(key))]
    else:
        texts += [str(value) for row in BlacklistedToken.objects.values_list() for value in row]
    return texts


def test_stores_hold_ids_never_tokens(user: Any, tracking: Any, request: Any) -> None:
    """Login, rotation, a reuse, logout everywhere: the store and the registry keep token
    ids, session ids and times; no token (nor its signature) is ever written."""
    device, first = login()
    second = device.post(REFRESH, {"refresh": first["refresh"]}, format="json").json()
    assert device.post(REFRESH, {"refresh": first["refresh"]}, format="json").status_code == 401
    other, third = login()
    assert other.post(LOGOUT_ALL, {}, format="json").status_code == 200
    tokens = [token for pair in (first, second, third) for token in pair.values()]
    texts = _stored_texts(request.node.callspec.params["tracking"])
    assert any(sid_of(third) in text for text in texts)  # the scan sees the records
    for token in tokens:
        signature = token.rsplit(".", 1)[1]
        assert not [text for text in texts if token in text or signature in text]


def test_refresh_records_last_use(user: Any, tracking: Any) -> None:
    device, tokens = login()
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    TokenSession.objects.filter(sid=sid_of(tokens)).update(last_used_at=long_ago)
    body = device.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()
    after = TokenSession.objects.get(sid=sid_of(tokens))
    assert after.last_used_at > long_ago
    assert int(after.expires_at.timestamp()) == RefreshToken.verify(body["refresh"]).exp


def test_client_details_are_kept_only_when_asked(user: Any, tracking: Any, settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = {"JWT": {**tracking, "SESSION_RECORD_CLIENT": False}}
    device, _ = login("secret-agent")
    row = device.get(SESSIONS).json()[0]
    assert row["user_agent"] == ""
    assert row["ip_address"] is None


def test_sessions_api_without_tracking_is_a_configuration_error(user: Any, configure_jwt: Any) -> None:
    device, _ = login()
    device.raise_request_exception = True
    with pytest.raises(ImproperlyConfigured, match="TRACK_SESSIONS"):
        device.get(SESSIONS)


def test_sessions_api_needs_authentication(db: Any, tracking: Any) -> None:
    assert APIClient().get(SESSIONS).status_code == 401
    token = AccessToken.for_user(type("U", (), {"id": 1, "password": ""})())
    assert APIClient().get(SESSIONS, **bearer(token)).status_code == 401


def test_admin_lists_sessions_and_revokes(user: Any, tracking: Any, admin_client: Any, settings: Any) -> None:
    device, tokens = login()
    settings.ROOT_URLCONF = "jwt_testapp.admin_urls"
    url = "/admin/restflow_authentication/tokensession/"
    listing = admin_client.get(url)
    assert listing.status_code == 200
    assert sid_of(tokens) in listing.content.decode()
    row = TokenSession.objects.get(sid=sid_of(tokens))
    response = admin_client.post(url, {"action": "revoke", "_selected_action": [row.pk]})
    assert response.status_code == 302
    settings.ROOT_URLCONF = "restflow_testbed.urls"
    assert device.get(WHOAMI).status_code == 401
    assert TokenSession.objects.get(pk=row.pk).revoke_reason == "admin"


def test_flush_command_deletes_expired_sessions(user: Any, tracking: Any) -> None:
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    _, old = login()
    _, fresh = login()
    TokenSession.objects.filter(sid=sid_of(old)).update(expires_at=timezone.now() - timedelta(days=1))
    call_command("restflow_flush_blacklist", stdout=StringIO())
    assert list(TokenSession.objects.values_list("sid", flat=True)) == [sid_of(fresh)]


def test_flush_command_deletes_expired_family_and_user_records(
    user: Any, settings: Any, configure_jwt: Any
) -> None:
    """The records that revoke sessions on the model backend (a family's ``f:<sid>``, the
    user's epoch ``u:<id>``) go once no token they refuse can still decode; live ones stay."""
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    configure_jwt(BLACKLIST_BACKEND=MODEL, TRACK_SESSIONS=True)
    old_device, old = login()
    login()  # a second session, ended by the epoch below
    assert old_device.delete(f"{SESSIONS}{sid_of(old)}/").status_code == 204
    revoke_user_sessions(user)  # the user's epoch
    _, newest = login()
    newest_device, _ = login()
    assert newest_device.delete(f"{SESSIONS}{sid_of(newest)}/").status_code == 204
    records = BlacklistedToken.objects.filter(jti__regex=r"^[fu]:")
    expired = [f"f:{sid_of(old)}", f"u:{user.pk}"]
    assert set(records.values_list("jti", flat=True)) == {*expired, f"f:{sid_of(newest)}"}
    records.filter(jti__in=expired).update(expires_at=timezone.now() - timedelta(days=1))
    call_command("restflow_flush_blacklist", stdout=StringIO())
    assert list(records.values_list("jti", flat=True)) == [f"f:{sid_of(newest)}"]


def test_refresh_without_rotation_records_last_use(user: Any, tracking: Any, settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = {"JWT": {**tracking, "ROTATE_REFRESH_TOKENS": False}}
    device, tokens = login()
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    TokenSession.objects.filter(sid=sid_of(tokens)).update(last_used_at=long_ago)
    assert device.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200
    assert TokenSession.objects.get(sid=sid_of(tokens)).last_used_at > long_ago
    assert device.delete(f"{SESSIONS}{sid_of(tokens)}/").status_code == 204
    assert device.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
