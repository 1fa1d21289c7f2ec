"""System checks of the key ring (E012/E013) and of verify-only mode (E014/E015)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_testapp.keyrings import ago, entry, new_private_pem
from jwt_testapp.support import SECRET, pem_pair

from restflow.authentication.checks import check_jwt_settings

P = "restflow_authentication."
URL = "https://issuer.example/auth/.well-known/jwks.json"


@pytest.fixture(scope="module")
def es_pem() -> bytes:
    return new_private_pem("ES256")


@pytest.fixture
def check(configure_jwt: Any) -> Any:
    def run(**jwt: Any) -> dict[str, Any]:
        configure_jwt(**{"SIGNING_KEY": None, **jwt})
        messages = check_jwt_settings()
        for message in messages:
            assert message.hint, message
        return {m.id: m for m in messages}

    return run


def test_good_ring_is_quiet(check: Any, es_pem: bytes) -> None:
    retired = entry(SECRET, "HS256", "retired", RETIRED_AT=ago(timedelta(minutes=1)))
    assert check(SIGNING_KEYS=[entry(es_pem, "ES256", "active"), retired]) == {}


@pytest.mark.parametrize(
    ("states", "text"),
    [
        ((), None),
        (("next",), "has 0 active keys"),
        (("active", "active"), "has 2 active keys"),
        (("active", "retired"), "has no RETIRED_AT"),
        (("active", "old"), "['STATE'] = 'old'"),
    ],
)
def test_ring_without_exactly_one_active_key(
    check: Any, es_pem: bytes, states: tuple[str, ...], text: str | None
) -> None:
    if not states:  # an empty list is "no ring": SIGNING_KEY is then missing
        assert P + "W001" in check(SIGNING_KEYS=[])
        return
    keys = [entry(es_pem, "ES256", state, KID=f"k{i}") for i, state in enumerate(states)]
    found = check(SIGNING_KEYS=keys)
    assert P + "E012" in found
    assert text in found[P + "E012"].msg


def test_ring_with_duplicate_kids(check: Any, es_pem: bytes) -> None:
    keys = [entry(es_pem, "ES256", "active"), entry(es_pem, "ES256", "next")]
    assert "two keys with kid" in check(SIGNING_KEYS=keys)[P + "E012"].msg


def test_ring_and_single_key_together(check: Any, es_pem: bytes) -> None:
    found = check(SIGNING_KEYS=[entry(es_pem, "ES256", "active")], SIGNING_KEY=SECRET)
    assert "both SIGNING_KEYS and SIGNING_KEY" in found[P + "E012"].msg


def test_weak_keys_in_ring(check: Any, es_pem: bytes) -> None:
    small_rsa = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=1024))[0]  # noqa: S505
    found = check(SIGNING_KEYS=[entry(es_pem, "ES256", "active"), entry(small_rsa, "RS256", "next")])
    assert "SIGNING_KEYS'][1]" in found[P + "E013"].msg
    found = check(SIGNING_KEYS=[entry("short", "HS256", "active")])
    assert P + "E013" in found


def test_jwks_url_requires_issuer_and_audience(check: Any) -> None:
    found = check(JWKS_URL=URL, ALGORITHM="ES256")
    assert "ISSUER and AUDIENCE" in found[P + "E014"].msg
    assert check(JWKS_URL=URL, ALGORITHM="ES256", ISSUER="https://issuer.example", AUDIENCE="api") == {}


@pytest.mark.parametrize(
    "local",
    [{"ALGORITHM": "HS256"}, {"SIGNING_KEY": SECRET}, {"VERIFYING_KEY": "pem"}, {"SIGNING_KEYS": [{}]}],
)
def test_jwks_url_with_local_or_hmac_keys(check: Any, local: dict[str, Any]) -> None:
    settings = {"JWKS_URL": URL, "ALGORITHM": "ES256", "ISSUER": "i", "AUDIENCE": "a", **local}
    assert P + "E015" in check(**settings)


def test_jwks_refresh_interval_longer_than_the_cache(check: Any) -> None:
    settings = {"JWKS_URL": URL, "ALGORITHM": "ES256", "ISSUER": "i", "AUDIENCE": "a"}
    found = check(**settings, JWKS_MIN_REFRESH_INTERVAL=timedelta(minutes=20))
    assert P + "E017" in found
    assert check(**settings, JWKS_MIN_REFRESH_INTERVAL=60, JWKS_CACHE_LIFETIME=60) == {}
