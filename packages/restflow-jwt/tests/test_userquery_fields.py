"""The precompiled user lookup on a 32-bit ``AutoField`` (django.contrib.auth's User id).

Django turns ``id = <value outside the column's range>`` into ``EmptyResultSet`` on
PostgreSQL (and MySQL/MariaDB): the precompile must probe with a value the field can hold,
step aside when compiling fails, and a token naming an out-of-range id is "user not found".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from jwt_testapp.support import REFRESH, WHOAMI, bearer
from rest_framework.test import APIClient

from restflow.authentication.config import get_config
from restflow.authentication.exceptions import TokenError
from restflow.authentication.jwt import AccessToken, RefreshToken
from restflow.authentication.userquery import CompiledUserLookup, compiled_user_lookup
from restflow.authentication.users import get_token_user

pytestmark = pytest.mark.django_db

INT32_MAX = 2**31 - 1


def compiled(model: Any) -> Any:
    config = get_config()
    field = model._meta.get_field("id")
    return compiled_user_lookup(model, "id", field, config.user_lookups)


def narrow_integer_ranges(monkeypatch: Any, low: int, high: int) -> None:
    """This connection reports integer columns of ``low..high`` (Django's lookups then
    raise ``EmptyResultSet`` for values outside it, as PostgreSQL's do for int4)."""
    monkeypatch.setattr(connection.ops, "integer_field_range", lambda internal_type: (low, high))


def test_the_lookup_compiles_within_the_columns_range(short_id_user: Any, monkeypatch: Any) -> None:
    """A 16-bit range on any database: the probe must fit it, or compiling fails."""
    narrow_integer_ranges(monkeypatch, -(2**15), 2**15 - 1)
    model = type(short_id_user)
    lookup = CompiledUserLookup(model, "id", model._meta.get_field("id"), connection.alias)
    assert lookup.fetch(short_id_user.pk) == [short_id_user]
    assert lookup.fetch(2**15) == []


def test_a_field_no_probe_fits_falls_back_to_the_orm(short_id_user: Any, monkeypatch: Any) -> None:
    narrow_integer_ranges(monkeypatch, 0, short_id_user.pk)
    assert compiled(type(short_id_user)) is None
    payload = AccessToken.for_user(short_id_user).payload
    assert get_token_user(payload) == short_id_user


def test_a_compile_error_falls_back_to_the_orm(short_id_user: Any, monkeypatch: Any) -> None:
    from django.core.exceptions import EmptyResultSet
    from django.db.models.sql.compiler import SQLCompiler

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise EmptyResultSet

    with monkeypatch.context() as patch:
        patch.setattr(SQLCompiler, "as_sql", refuse)
        assert compiled(type(short_id_user)) is None
    assert get_token_user(AccessToken.for_user(short_id_user).payload) == short_id_user


def test_an_id_outside_the_column_is_not_found(short_id_user: Any) -> None:
    for user_id in (INT32_MAX + 1, -(2**31) - 1, 2**63):
        with pytest.raises(TokenError, match="User not found"):
            get_token_user({"user_id": user_id})


@pytest.mark.postgres
def test_postgresql_int4_id_authenticates_and_refreshes(short_id_user: Any) -> None:
    """The stock ``auth.User`` shape on PostgreSQL: requests and refresh answer 200, not 500."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://... (the CI runs a PostgreSQL session)")
    model = type(short_id_user)
    assert connection.ops.integer_field_range("AutoField")[1] == INT32_MAX
    lookup = compiled(model)
    assert lookup is not None
    assert lookup.fetch(short_id_user.pk) == [short_id_user]
    assert lookup.fetch(INT32_MAX + 1) == []
    client = APIClient(raise_request_exception=False)
    refresh = RefreshToken.for_user(short_id_user)
    response = client.get(WHOAMI, **bearer(refresh.access_token))
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "bob"
    response = client.post(REFRESH, {"refresh": str(refresh)}, format="json")
    assert response.status_code == 200, response.content
    payload = AccessToken.for_user(short_id_user).payload
    forged = AccessToken.from_payload({**payload, "user_id": INT32_MAX + 1})
    response = client.get(WHOAMI, **bearer(forged))
    assert response.status_code == 401, response.content


def test_int4_id_through_the_views(short_id_user: Any) -> None:
    """The same requests on every database (the PostgreSQL test above is the one that failed)."""
    client = APIClient(raise_request_exception=False)
    refresh = RefreshToken.for_user(short_id_user)
    assert client.get(WHOAMI, **bearer(refresh.access_token)).status_code == 200
    response = client.post(REFRESH, {"refresh": str(refresh)}, format="json")
    assert response.status_code == 200, response.content


def test_an_empty_result_set_at_request_time_is_user_not_found(
    short_id_user: Any, monkeypatch: Any
) -> None:
    """Whatever makes Django give up on the lookup at request time, the answer is 401."""
    from django.core.exceptions import EmptyResultSet

    def give_up(self: Any, value: Any) -> Any:
        raise EmptyResultSet

    access = AccessToken.for_user(short_id_user)
    assert compiled(type(short_id_user)) is not None
    monkeypatch.setattr(CompiledUserLookup, "fetch", give_up)
    with pytest.raises(TokenError, match="User not found"):
        get_token_user(access.payload)
    response = APIClient(raise_request_exception=False).get(WHOAMI, **bearer(access))
    assert response.status_code == 401, response.content
