"""The precompiled user lookup returns what the ORM returns, and steps aside when it cannot."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import models

from restflow.authentication.config import get_config
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
    assert compiled(get_config()) is not None
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
