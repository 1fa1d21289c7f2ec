"""Every token view and an authenticated request, through the project's own URLs."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def obtain(api: Any, person: Any) -> dict[str, str]:
    response = api.post(
        "/auth/token/", {"username": person.login, "password": person.password}, format="json"
    )
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}
    return response.json()


def me(api: Any, access: str) -> Any:
    return api.get("/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def test_obtain_pair(api: Any, alice: Any) -> None:
    obtain(api, alice)


def test_obtain_refuses_a_wrong_password(api: Any, alice: Any) -> None:
    response = api.post("/auth/token/", {"username": alice.login, "password": "nope"}, format="json")
    assert response.status_code == 401, response.content


def test_authenticated_request_with_the_access_token(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    response = me(api, pair["access"])
    assert response.status_code == 200, response.content
    assert response.json() == {"user": alice.name}


def test_a_refresh_token_does_not_authenticate(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    assert me(api, pair["refresh"]).status_code == 401


def test_refresh_rotates_and_a_replay_of_the_old_token_ends_the_session(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    response = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"}
    assert rotated["refresh"] != pair["refresh"]
    assert me(api, rotated["access"]).json() == {"user": alice.name}
    replay = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert replay.status_code == 401, replay.content
    # reuse of a rotated token revokes its session: the newer tokens stop working too
    again = api.post("/auth/token/refresh/", {"refresh": rotated["refresh"]}, format="json")
    assert again.status_code == 401, again.content
    assert again.json()["detail"] == "Session has been revoked."
    assert me(api, rotated["access"]).status_code == 401
    other = obtain(api, alice)  # another session of the same user is untouched
    assert api.post("/auth/token/refresh/", {"refresh": other["refresh"]}, format="json").status_code == 200


def test_verify(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    response = api.post("/auth/token/verify/", {"token": pair["access"]}, format="json")
    assert response.status_code == 200, response.content
    forged = pair["access"][:-4] + ("AAAA" if not pair["access"].endswith("AAAA") else "BBBB")
    response = api.post("/auth/token/verify/", {"token": forged}, format="json")
    assert response.status_code == 401, response.content


def test_blacklist_logs_out(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    response = api.post("/auth/token/blacklist/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 204, response.content
    response = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401, response.content
    response = api.post("/auth/token/verify/", {"token": pair["refresh"]}, format="json")
    assert response.status_code == 401, response.content


def test_deactivated_user_is_refused(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    alice.user.is_active = False
    alice.user.save()
    assert me(api, pair["access"]).status_code == 401
    response = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401, response.content
    response = api.post("/auth/token/verify/", {"token": pair["access"]}, format="json")
    assert response.status_code == 401, response.content
    # reactivating the account does not bring its old sessions back
    alice.user.is_active = True
    alice.user.save()
    assert me(api, pair["access"]).status_code == 401
    response = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401, response.content
    assert me(api, obtain(api, alice)["access"]).json() == {"user": alice.name}


def test_deleted_user_is_refused(api: Any, alice: Any) -> None:
    pair = obtain(api, alice)
    type(alice.user)._base_manager.filter(pk=alice.user.pk).delete()
    assert me(api, pair["access"]).status_code == 401
    response = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401, response.content
    response = api.post("/auth/token/verify/", {"token": pair["access"]}, format="json")
    assert response.status_code == 401, response.content


def test_session_authentication(alice: Any) -> None:
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice.user)
    response = client.get("/me/")
    assert response.status_code == 200, response.content
    assert response.json() == {"user": alice.name}


def test_anonymous(api: Any) -> None:
    response = api.get("/me/")
    assert response.status_code == 200
    assert response.json() == {"user": None}
