"""Property-based fuzzing: whatever arrives, the answer is 401 (or anonymous), never a 500."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt_testapp.forge import b64, forge, hmac_signer
from jwt_testapp.support import MAYBE, REFRESH, SECRET, VERIFY

from restflow.authentication.jwt import build_jwt_payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_request_log() -> Any:
    """Thousands of expected 401s would otherwise each be logged and captured."""
    logger = logging.getLogger("django.request")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(previous)


def fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


HEADER_KEYS = ["alg", "typ", "kid", "crit", "jku", "jwk", "x5u", "x5c", "b64", "cty"]
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
latin1 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=300)
token_like = st.lists(st.text(alphabet=B64URL + "=+/ ", max_size=120), min_size=1, max_size=5).map(".".join)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=5,
)


def anonymous_or_401(response: Any) -> None:
    assert response.status_code in (200, 401), response.content
    if response.status_code == 200:
        assert response.json() == {"authenticated": False}


@fuzz(1500)
@given(header=latin1)
def test_any_authorization_header(client: Any, header: str) -> None:
    anonymous_or_401(client.get(MAYBE, HTTP_AUTHORIZATION=header))


@fuzz(1000)
@given(scheme=st.sampled_from(["Bearer", "bearer", "BEARER"]), token=token_like)
def test_any_bearer_token(client: Any, scheme: str, token: str) -> None:
    response = client.get(MAYBE, HTTP_AUTHORIZATION=f"{scheme} {token}")
    assert response.status_code == 401


@fuzz(600)
@given(
    header=st.dictionaries(st.sampled_from(HEADER_KEYS) | st.text(max_size=4), json_values, max_size=4),
    body=json_values,
)
def test_any_header_and_payload_segments(client: Any, header: Any, body: Any) -> None:
    token = ".".join([b64(json.dumps(header).encode()), b64(json.dumps(body).encode()), b64(b"sig")])
    anonymous_or_401(client.get(MAYBE, HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert client.post(VERIFY, {"token": token}, format="json").status_code == 401


@fuzz(600)
@given(
    claims=st.dictionaries(
        st.sampled_from(["user_id", "token_type", "exp", "iat", "jti", "iss", "aud", "nbf", "sub"]),
        json_values,
        max_size=4,
    )
)
def test_signed_tokens_with_hostile_claims(client: Any, user: Any, claims: dict[str, Any]) -> None:
    """Correctly signed tokens with odd claim values reach the user lookup: still no 500."""
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=5))
    payload.update(claims)
    token = forge({"alg": "HS256", "typ": "at+jwt"}, payload, hmac_signer("HS256", SECRET.encode()))
    response = client.get(MAYBE, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (200, 401)
    if response.status_code == 200:  # only when the claims that matter stayed valid
        assert payload["user_id"] == user.pk or str(payload["user_id"]) == str(user.pk)


@fuzz(600)
@given(value=st.one_of(token_like, latin1, json_values))
def test_any_refresh_body(client: Any, value: Any) -> None:
    response = client.post(REFRESH, {"refresh": value}, format="json")
    assert response.status_code in (400, 401)
