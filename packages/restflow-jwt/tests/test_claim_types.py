"""The user id claim must have the JSON type (and form) that issuing writes for the field.

Django's ``to_python`` is lenient (``int("\\u0661")``, ``int(" 1")``, ``int(True)``,
``UUID("{...}")``): without a type check a token with ``"+1"`` or ``true`` names user 1.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from jwt_testapp.support import PASSWORD, REFRESH, WHOAMI, bearer
from rest_framework.test import APIClient

from restflow.authentication.jwt import AccessToken, RefreshToken, build_jwt_payload, encode_token

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def user_one(db: Any) -> Any:
    """User id 1: the id that ``true`` and ``1.0`` coerce to."""
    return get_user_model().objects.create_user(
        id=1, username="12345", password=PASSWORD, email="one@example.com"
    )


def with_claim(user: Any, claim: Any) -> str:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=5))
    payload["user_id" if "user_id" in payload else "sub"] = claim
    return encode_token(payload)


def whoami(token: str) -> Any:
    return APIClient().get(WHOAMI, **bearer(token))


def rejected(token: str) -> None:
    response = whoami(token)
    assert response.status_code == 401, response.content
    assert response.json()["detail"] == "User not found."


@pytest.mark.parametrize(
    "claim", ["\u0661", " 1", "1 ", "+1", "01", "1", "1\n", True, 1.0, "0x1", "1e0"]
)
def test_integer_ids_refuse_anything_but_a_json_integer(user_one: Any, claim: Any) -> None:
    rejected(with_claim(user_one, claim))


def test_integer_ids_accept_the_json_integer_issuing_writes(user_one: Any) -> None:
    token = AccessToken.for_user(user_one)
    assert type(token.payload["user_id"]) is int
    assert whoami(with_claim(user_one, 1)).status_code == 200
    assert whoami(str(token)).status_code == 200
    response = APIClient().post(REFRESH, {"refresh": str(RefreshToken.for_user(user_one))})
    assert response.status_code == 200, response.content


def test_sub_claim_takes_the_canonical_decimal_string(user: Any, configure_jwt: Any) -> None:
    configure_jwt(USER_ID_CLAIM="sub")
    token = AccessToken.for_user(user)
    assert token.payload["sub"] == str(user.pk)
    assert whoami(str(token)).status_code == 200
    for claim in (f"0{user.pk}", f"+{user.pk}", f" {user.pk}", str(user.pk).translate(ARABIC_INDIC)):
        rejected(with_claim(user, claim))


def test_uuid_ids_take_the_canonical_string_only(user: Any, configure_jwt: Any) -> None:
    configure_jwt(USER_ID_FIELD="uuid")
    token = AccessToken.for_user(user)
    assert token.payload["user_id"] == str(user.uuid)
    assert whoami(str(token)).status_code == 200
    canonical = str(user.uuid)
    for claim in (
        canonical.upper(),
        user.uuid.hex,
        "{" + canonical + "}",
        "urn:uuid:" + canonical,
        user.uuid.int,
        f" {canonical}",
    ):
        rejected(with_claim(user, claim))


def test_string_ids_take_a_json_string_only(user_one: Any, configure_jwt: Any) -> None:
    configure_jwt(USER_ID_FIELD="username")
    assert whoami(str(AccessToken.for_user(user_one))).status_code == 200
    assert whoami(with_claim(user_one, "12345")).status_code == 200
    for claim in (12345, 12345.0, ["12345"]):
        rejected(with_claim(user_one, claim))
