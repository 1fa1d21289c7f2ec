"""The cookie transport for browser apps: attributes, rotation, logout, CSRF attacks."""

from __future__ import annotations

from http.cookies import Morsel
from typing import Any

import pytest
from django.middleware.csrf import CSRF_SESSION_KEY
from jwt_testapp.support import AUTH, BLACKLIST, PASSWORD, REFRESH, bearer, jwt_dict
from rest_framework.test import APIClient

from restflow.authentication import RefreshToken

COOKIE_WHOAMI = "/jwt_testapp/cookie-whoami/"
LOGOUT_ALL = "/jwt_testapp/auth/sessions/logout-all/"
RT = "__Secure-refresh"
AT = "__Host-access"
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


@pytest.fixture
def cookie_mode(settings: Any) -> Any:
    """Cookie mode on (refresh and access cookies), the CSRF middleware installed."""

    def configure(jwt: dict[str, Any] | None = None, **cookie: Any) -> None:
        block = {"ENABLED": True, "ACCESS_TOKEN": True, **cookie}
        settings.RESTFLOW_SETTINGS = jwt_dict(COOKIE=block, **(jwt or {}))

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, CSRF_MIDDLEWARE]
    configure()
    return configure


@pytest.fixture
def browser() -> APIClient:
    """A client that, like a browser, does not skip the CSRF check."""
    return APIClient(enforce_csrf_checks=True)


def login(client: APIClient) -> Any:
    response = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response


def csrf_header(client: APIClient) -> dict[str, str]:
    """What the SPA sends: the ``csrftoken`` cookie's value in ``X-CSRFToken``."""
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def cookie(response: Any, name: str) -> Morsel[str]:
    return response.cookies[name]


def test_login_sets_the_refresh_cookie_with_safe_attributes(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    response = login(browser)
    assert response.json() == {}  # no token for JavaScript to read
    refresh = cookie(response, RT)
    assert refresh["httponly"] is True
    assert refresh["secure"] is True
    assert refresh["samesite"] == "Lax"
    assert refresh["path"] == "/jwt_testapp/auth/token/"  # the refresh and logout views only
    assert refresh["domain"] == ""
    assert 86000 < int(refresh["max-age"]) <= 86400  # the refresh token's lifetime
    assert RefreshToken.verify(refresh.value).payload["token_type"] == "refresh"
    access = cookie(response, AT)
    assert (access["httponly"], access["secure"], access["path"]) == (True, True, "/")
    assert "csrftoken" in response.cookies  # the SPA reads this one for its CSRF header


def test_access_cookie_is_optional_and_the_body_keeps_the_access_token(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    cookie_mode(ACCESS_TOKEN=False)
    response = login(browser)
    assert set(response.json()) == {"access"}
    assert AT not in response.cookies
    assert RT in response.cookies


def test_prefixes_follow_the_attributes(user: Any, browser: APIClient, cookie_mode: Any) -> None:
    cookie_mode(DOMAIN="example.com")
    response = login(browser)
    assert "__Secure-access" in response.cookies  # a Domain forbids __Host-
    cookie_mode(SECURE=False)
    response = login(browser)
    assert {"refresh", "access"} <= set(response.cookies)  # prefixes require Secure
    assert response.cookies["refresh"]["secure"] == ""
    cookie_mode(SAMESITE="Strict", REFRESH_PATH="/auth/")
    response = login(browser)
    assert response.cookies[RT]["samesite"] == "Strict"
    assert response.cookies[RT]["path"] == "/auth/"


def test_cookie_mode_off_by_default(user: Any, browser: APIClient) -> None:
    response = login(browser)
    assert set(response.json()) == {"access", "refresh"}
    assert not response.cookies


def test_refresh_rotates_the_cookie_with_identical_attributes(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    first = cookie(login(browser), RT)
    response = browser.post(REFRESH, **csrf_header(browser))
    assert response.status_code == 200, response.content
    assert response.json() == {}
    second = cookie(response, RT)
    assert second.value != first.value
    for attribute in ("path", "domain", "secure", "httponly", "samesite"):
        assert second[attribute] == first[attribute], attribute
    assert browser.get(COOKIE_WHOAMI).json()["username"] == "alice"


def test_stolen_rotated_cookie_replayed_is_refused(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    stolen = cookie(login(browser), RT).value
    assert browser.post(REFRESH, **csrf_header(browser)).status_code == 200
    thief = APIClient(enforce_csrf_checks=True)
    login(thief)  # the thief has a CSRF pair of its own, and the victim's old cookie
    thief.cookies[RT] = stolen
    replay = thief.post(REFRESH, **csrf_header(thief))
    assert replay.status_code == 401
    assert replay.json()["detail"] == "Refresh token was already used; its session has been revoked."
    assert replay.cookies[RT]["max-age"] == 0  # the dead cookie is deleted
    # the victim's family is revoked: its current cookie stops working too
    assert browser.post(REFRESH, **csrf_header(browser)).status_code == 401


def test_refresh_cookie_without_csrf_token_is_refused(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    login(browser)
    response = browser.post(REFRESH)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed: CSRF token missing")


def test_body_refresh_still_works_for_mobile_clients(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    cookie_mode(ENABLED=False)
    tokens = login(APIClient()).json()
    cookie_mode()
    response = browser.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200  # no cookie, no CSRF token needed: the body proves it
    assert set(response.json()) == {"access", "refresh"}
    assert not response.cookies
    cookie_mode(REFRESH_FROM_BODY=False)
    refused = browser.post(REFRESH, {"refresh": response.json()["refresh"]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The refresh cookie is missing."


def test_logout_blacklists_the_cookie_and_deletes_it(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    set_cookie = cookie(login(browser), RT)
    old = set_cookie.value
    response = browser.post(BLACKLIST, **csrf_header(browser))
    assert response.status_code == 204
    deleted = cookie(response, RT)
    assert deleted.value == ""
    assert deleted["max-age"] == 0
    for attribute in ("path", "domain", "secure", "httponly", "samesite"):
        assert deleted[attribute] == set_cookie[attribute], attribute
    assert cookie(response, AT)["max-age"] == 0
    browser.cookies[RT] = old  # the old cookie, kept by a thief
    after = browser.post(REFRESH, **csrf_header(browser))
    assert after.status_code == 401


def test_access_cookie_without_csrf_token_is_refused(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    login(browser)
    assert browser.get(COOKIE_WHOAMI).status_code == 200  # safe methods need no token
    response = browser.post(COOKIE_WHOAMI)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed: CSRF token missing")
    assert browser.post(COOKIE_WHOAMI, **csrf_header(browser)).json()["changed"] is True


def test_csrf_token_of_another_session_is_refused(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    login(browser)
    other = APIClient(enforce_csrf_checks=True)
    login(other)
    response = browser.post(COOKIE_WHOAMI, **csrf_header(other))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect."
    )
    refresh = browser.post(REFRESH, **csrf_header(other))
    assert refresh.status_code == 403


def test_login_gives_a_new_csrf_secret(user: Any, browser: APIClient, cookie_mode: Any) -> None:
    login(browser)
    planted = browser.cookies["csrftoken"].value  # e.g. set by an attacker beforehand
    login(browser)
    assert browser.cookies["csrftoken"].value != planted
    assert browser.post(COOKIE_WHOAMI, HTTP_X_CSRFTOKEN=planted).status_code == 403


def test_bearer_header_needs_no_csrf_token(user: Any, browser: APIClient, cookie_mode: Any) -> None:
    cookie_mode(ACCESS_TOKEN=False)
    access = login(browser).json()["access"]
    response = APIClient(enforce_csrf_checks=True).post(COOKIE_WHOAMI, **bearer(access))
    assert response.status_code == 200
    # a cookie alongside the header does not make the header request CSRF-checked
    assert browser.post(COOKIE_WHOAMI, **bearer(access)).status_code == 200


def test_expired_or_forged_access_cookie_is_401(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    login(browser)
    browser.cookies[AT] = "not.a.token"
    response = browser.get(COOKIE_WHOAMI)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    browser.cookies[AT] = "é"
    assert browser.get(COOKIE_WHOAMI).status_code == 401


def test_csrf_in_sessions_works_as_well(
    user: Any, browser: APIClient, cookie_mode: Any, settings: Any
) -> None:
    settings.CSRF_USE_SESSIONS = True
    login(browser)
    secret = browser.session.get(CSRF_SESSION_KEY)
    assert secret
    assert browser.post(COOKIE_WHOAMI).status_code == 403
    assert browser.post(COOKIE_WHOAMI, HTTP_X_CSRFTOKEN=secret).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_sessions_live_in_the_cookie_and_logout_all_clears_it(
    user: Any, browser: APIClient, cookie_mode: Any, settings: Any
) -> None:
    cookie_mode({"TRACK_SESSIONS": True})
    first = cookie(login(browser), RT).value
    sid = RefreshToken.verify(first).sid
    assert sid
    rotated = cookie(browser.post(REFRESH, **csrf_header(browser)), RT).value
    assert RefreshToken.verify(rotated).sid == sid  # the family lives in the cookie's token
    sessions = browser.get("/jwt_testapp/auth/sessions/").json()
    assert [s["current"] for s in sessions] == [True]
    assert browser.post(LOGOUT_ALL, format="json").status_code == 403  # CSRF applies here too
    response = browser.post(LOGOUT_ALL, {}, format="json", **csrf_header(browser))
    assert response.json() == {"ended": 1}
    assert response.cookies[RT]["max-age"] == 0
    assert response.cookies[RT]["path"] == "/jwt_testapp/auth/token/"
    assert response.cookies[AT]["max-age"] == 0
    browser.cookies[RT] = rotated
    assert browser.post(REFRESH, **csrf_header(browser)).status_code == 401


def test_views_mounted_with_cookie_true_serve_browsers_beside_body_clients(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    cookie_mode(ENABLED=False, ACCESS_TOKEN=False, REFRESH_PATH="/jwt_testapp/browser/")
    assert set(login(APIClient()).json()) == {"access", "refresh"}  # the default mount
    response = browser.post(
        "/jwt_testapp/browser/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert set(response.json()) == {"access"}
    assert response.cookies[RT]["path"] == "/jwt_testapp/browser/"
    rotated = browser.post("/jwt_testapp/browser/refresh/", **csrf_header(browser))
    assert rotated.status_code == 200
    assert rotated.cookies[RT].value != response.cookies[RT].value
    assert browser.post("/jwt_testapp/browser/logout/", **csrf_header(browser)).status_code == 204


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_cookie_authentication_sync_and_async(
    user: Any, cookie_mode: Any, settings: Any, mode: str
) -> None:
    """``authenticate`` and ``aauthenticate`` read the cookie and check CSRF alike."""
    from asgiref.sync import async_to_sync
    from django.test import RequestFactory
    from rest_framework.exceptions import PermissionDenied
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request

    from restflow.authentication import AccessToken, JWTCookieAuthentication

    auth = JWTCookieAuthentication()
    run = auth.authenticate if mode == "sync" else async_to_sync(auth.aauthenticate)
    access = str(RefreshToken.for_user(user).access_token)
    secret = "csrfSecretOfThirtyTwoCharacters0"  # the form of Django's CSRF secrets
    factory = RequestFactory()

    def request(method: str, **extra: Any) -> Request:
        django_request = getattr(factory, method)("/", content_type="application/json", **extra)
        django_request.COOKIES = {AT: access, "csrftoken": secret}
        return Request(django_request, parsers=[JSONParser()])

    found_user, token = run(request("get"))
    assert found_user == user
    assert isinstance(token, AccessToken)
    with pytest.raises(PermissionDenied, match="CSRF token missing"):
        run(request("post"))
    assert run(request("post", HTTP_X_CSRFTOKEN=secret))[0] == user
    cookie_mode(ACCESS_TOKEN=False)  # without the access cookie setting the cookie is ignored
    assert run(request("get")) is None


def test_refresh_without_rotation_sets_only_a_new_access_cookie(
    user: Any, browser: APIClient, cookie_mode: Any
) -> None:
    cookie_mode({"ROTATE_REFRESH_TOKENS": False})
    first = login(browser)
    response = browser.post(REFRESH, **csrf_header(browser))
    assert response.status_code == 200
    assert RT not in response.cookies  # the refresh cookie stays as it is
    assert response.cookies[AT].value != first.cookies[AT].value
