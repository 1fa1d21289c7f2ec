"""Deeply nested JSON, in a token header or a request body, is a 401/400, never a 500.

Python's JSON decoder recurses once per nesting level: ``"[" * 1000`` (a ~1.3 KB token)
raises ``RecursionError``, which no parser or view expected.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwt_testapp.forge import b64, hmac_signer
from jwt_testapp.support import AUTH, BLACKLIST, MAYBE, REFRESH, SECRET, VERIFY, WHOAMI, bearer
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

NESTED = b"[" * 1000 + b"]" * 1000
HEADER = b64(json.dumps({"alg": "HS256", "typ": "at+jwt"}).encode())
DEEP_HEADER = b64(b"[" * 1000) + "." + b64(b"{}") + "." + b64(b"signature")
DEEP_IN_OBJECT = b64(b'{"alg": "HS256", "x": ' + NESTED + b"}") + "." + b64(b"{}") + ".c2ln"
TOKENS = {"header": DEEP_HEADER, "header-member": DEEP_IN_OBJECT}


def signed_deep_payload() -> str:
    signing_input = HEADER + "." + b64(b'{"user_id": 1, "x": ' + NESTED + b"}")
    return signing_input + "." + b64(hmac_signer("HS256", SECRET.encode())(signing_input.encode()))


@pytest.fixture
def api() -> APIClient:
    return APIClient(raise_request_exception=False)


def test_the_token_is_small() -> None:
    assert len(DEEP_HEADER) < 1400


@pytest.mark.parametrize("token", list(TOKENS))
@pytest.mark.parametrize("url", [WHOAMI, MAYBE])
def test_protected_and_allow_any_views_answer_401(user: Any, api: APIClient, url: str, token: str) -> None:
    response = api.get(url, **bearer(TOKENS[token]))
    assert response.status_code == 401, response.content
    assert "Token header" in response.json()["detail"]


@pytest.mark.parametrize("token", list(TOKENS))
@pytest.mark.parametrize(("url", "field"), [(REFRESH, "refresh"), (BLACKLIST, "refresh"), (VERIFY, "token")])
def test_token_views_answer_401(user: Any, api: APIClient, url: str, field: str, token: str) -> None:
    response = api.post(url, {field: TOKENS[token]}, format="json")
    assert response.status_code == 401, response.content
    assert "Token header" in response.json()["detail"]


@pytest.mark.parametrize("url", [AUTH, REFRESH, BLACKLIST, VERIFY])
def test_a_deeply_nested_body_is_a_400(db: Any, api: APIClient, url: str) -> None:
    response = api.post(url, "[" * 5000, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "nested" in response.json()["detail"]


def test_a_signed_deeply_nested_payload_is_a_401(user: Any, api: APIClient) -> None:
    """PyJWT reads the payload after the signature and turns any decoding error into
    ``DecodeError``; this pins that the payload needs no guard of ours."""
    response = api.get(WHOAMI, **bearer(signed_deep_payload()))
    assert response.status_code == 401, response.content
    assert "recursion" in response.json()["detail"]
