"""The precompiled user lookup returns what the ORM returns, and steps aside when it cannot."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from jwt_testapp.support import WHOAMI, bearer
from rest_framework.test import APIClient

from restflow.authentication.config import get_config
from restflow.authentication.exceptions import TokenError
from restflow.authentication.jwt import AccessToken
from restflow.authentication.userquery import compiled_user_lookup
from restflow.authentication.users import get_token_user

pytestmark = pytest.mark.django_db

FIELDS = ["id", "pk", "uuid", "username", "email"]


def compiled(config: Any) -> Any:
    return compiled_user_lookup(
        config.user_model, config.user_id_field, config.user_id_model_field, config.user_lookups
    )


@pytest.mark.parametrize("field", FIELDS)
def test_same_user_as_the_orm(user: Any, configure_jwt: Any, field: str) -> None:
    user.last_login = user.date_joined
    user.save()
    configure_jwt(USER_ID_FIELD=field)
    found = get_token_user(AccessToken.for_user(user).payload)
    assert compiled(get_config()) is not None
    expected = get_user_model().objects.get(pk=user.pk)
    for model_field in expected._meta.concrete_fields:
        name = model_field.attname
        assert getattr(found, name) == getattr(expected, name), name
    assert found._state.db == expected._state.db
    assert found._state.adding is False


def test_huge_integer_is_not_found_without_a_database_error(user: Any) -> None:
    lookup = compiled(get_config())
    assert lookup.fetch(2**63) == []
    assert lookup.fetch(user.pk) == [user]


class StaffHidingManager(models.Manager):  # type: ignore[type-arg]
    def get_queryset(self) -> Any:
        return super().get_queryset().filter(is_staff=False)


class AnnotatingManager(models.Manager):  # type: ignore[type-arg]
    def get_queryset(self) -> Any:
        return super().get_queryset().annotate(one=models.Value(1))


def use_manager(monkeypatch: Any, manager_class: type) -> None:
    model = get_user_model()
    manager = manager_class()
    manager.model = model
    monkeypatch.setattr(model._meta, "default_manager", manager)


def test_custom_default_manager_filters_still_apply(user: Any, monkeypatch: Any) -> None:
    use_manager(monkeypatch, StaffHidingManager)
    payload = AccessToken.for_user(user).payload
    assert get_token_user(payload) == user
    assert compiled(get_config()) is None  # its own get_queryset: the ORM on every request
    user.is_staff = True
    user.save()
    with pytest.raises(Exception, match="User not found"):
        get_token_user(payload)


def test_querysets_it_cannot_reproduce_fall_back_to_the_orm(user: Any, monkeypatch: Any) -> None:
    use_manager(monkeypatch, AnnotatingManager)
    found = get_token_user(AccessToken.for_user(user).payload)
    assert compiled(get_config()) is None
    assert found == user
    assert found.one == 1


def test_django_managers_are_precompiled(user: Any) -> None:
    """``UserManager`` keeps Django's ``get_queryset``: the compiled lookup is used."""
    assert type(get_user_model()._default_manager).get_queryset is models.Manager.get_queryset
    get_token_user(AccessToken.for_user(user).payload)
    assert compiled(get_config()) is not None


class StillValidManager(models.Manager):  # type: ignore[type-arg]
    """Users whose ``valid_until`` is still ahead of the clock (read on every query)."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(valid_until__gt=timezone.now())


_tenant = threading.local()


class TenantManager(models.Manager):  # type: ignore[type-arg]
    """Users of the current thread's tenant."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(tenant=getattr(_tenant, "name", None))


def use_model_manager(monkeypatch: Any, model: Any, manager_class: type) -> None:
    manager = manager_class()
    manager.model = model
    monkeypatch.setattr(model._meta, "default_manager", manager)


def test_a_manager_filtering_by_the_clock_is_asked_on_every_request(
    short_id_user: Any, monkeypatch: Any
) -> None:
    start = timezone.now()
    short_id_user.valid_until = start + timedelta(hours=1)
    short_id_user.save()
    use_model_manager(monkeypatch, type(short_id_user), StillValidManager)
    monkeypatch.setattr(timezone, "now", lambda: start)
    client = APIClient()
    access = AccessToken.for_user(short_id_user)
    for _ in range(2):
        assert client.get(WHOAMI, **bearer(access)).status_code == 200
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=2))
    response = client.get(WHOAMI, **bearer(access))
    assert response.status_code == 401, response.content
    assert response.json()["detail"] == "User not found."
    with pytest.raises(TokenError, match="User not found"):
        get_token_user(access.payload)


def test_a_thread_local_tenant_manager_is_asked_on_every_request(
    short_id_user: Any, monkeypatch: Any
) -> None:
    short_id_user.tenant = "north"
    short_id_user.save()
    use_model_manager(monkeypatch, type(short_id_user), TenantManager)
    payload = AccessToken.for_user(short_id_user).payload
    monkeypatch.setattr(_tenant, "name", "north", raising=False)
    assert get_token_user(payload) == short_id_user
    assert get_token_user(payload) == short_id_user
    _tenant.name = "south"
    with pytest.raises(TokenError, match="User not found"):
        get_token_user(payload)
