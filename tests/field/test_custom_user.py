"""The custom project only: users the default manager hides are not authenticated."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from test_jwt import me, obtain  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_user_model_is_the_custom_one(alice: Any) -> None:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    assert model._meta.label == "people.User"
    assert model._meta.pk.get_internal_type() == "UUIDField"
    assert model._default_manager.name == "objects"


def _hide(user: Any, how: str) -> None:
    model = type(user)
    if how == "deleted":
        model.everyone.filter(pk=user.pk).update(is_deleted=True)
    else:
        # Access ends now: after any query compiled so far, before the next request.
        model.everyone.filter(pk=user.pk).update(valid_until=timezone.now())
    assert not model.objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize("how", ["deleted", "expired"])
def test_hidden_user_gets_401_with_a_valid_access_token(api: Any, alice: Any, how: str) -> None:
    pair = obtain(api, alice)
    assert me(api, pair["access"]).status_code == 200  # the query is compiled and warm
    _hide(alice.user, how)
    response = me(api, pair["access"])
    assert response.status_code == 401, response.content


@pytest.mark.parametrize("how", ["deleted", "expired"])
def test_hidden_user_cannot_refresh(api: Any, alice: Any, how: str) -> None:
    pair = obtain(api, alice)
    _hide(alice.user, how)
    response = api.post("/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401, response.content


@pytest.mark.parametrize("how", ["deleted", "expired"])
def test_hidden_user_cannot_obtain(api: Any, alice: Any, how: str) -> None:
    _hide(alice.user, how)
    response = api.post(
        "/auth/token/", {"username": alice.login, "password": alice.password}, format="json"
    )
    assert response.status_code == 401, response.content
