"""``manage.py restflow_keys``: generate keys that the ring accepts; show the schedule."""

from __future__ import annotations

import io
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.management import call_command
from django.core.management.base import CommandError
from jwt_testapp.keyrings import REFRESH_LIFETIME, ago, entry, kid_of, new_private_pem, ring_settings
from jwt_testapp.support import SECRET

from restflow.authentication.checks import check_jwt_settings
from restflow.authentication.jwt import AccessToken

KEY_TYPES = {
    "RS256": rsa.RSAPrivateKey,
    "PS384": rsa.RSAPrivateKey,
    "ES256": ec.EllipticCurvePrivateKey,
    "ES256K": ec.EllipticCurvePrivateKey,
    "ES512": ec.EllipticCurvePrivateKey,
    "EdDSA": ed25519.Ed25519PrivateKey,
}


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("restflow_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def kid_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("kid: "))[5:]


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", sorted(KEY_TYPES))
def test_generate_prints_a_pem_that_signs_in_a_ring(settings: Any, user: Any, algorithm: str) -> None:
    pem, notes = run("generate", "--alg", algorithm)
    key = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(key, KEY_TYPES[algorithm])
    assert "PRIVATE KEY" not in notes
    settings.RESTFLOW_SETTINGS = ring_settings(entry(pem.encode(), algorithm, "active"))
    assert [m.id for m in check_jwt_settings() if m.is_serious()] == []
    token = AccessToken.for_user(user)
    assert kid_of(str(token)) == kid_line(notes)
    assert AccessToken.verify(str(token)).payload["user_id"] == user.pk


def test_generate_hmac_secret_is_long_enough(settings: Any) -> None:
    secret, notes = run("generate", "--alg", "HS512")
    assert len(secret.strip().encode()) >= 64
    settings.RESTFLOW_SETTINGS = ring_settings(entry(secret.strip(), "HS512", "active"))
    assert [m.id for m in check_jwt_settings() if m.is_serious()] == []
    assert secret.strip() not in notes


def test_generate_to_a_private_file(tmp_path: Path) -> None:
    target = tmp_path / "jwt-es256.pem"
    out, err = run("generate", "--alg", "ES256", "--out", str(target))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert "PRIVATE KEY" in target.read_text()
    assert "PRIVATE KEY" not in out + err
    assert kid_line(out)
    with pytest.raises(CommandError, match="cannot create"):
        run("generate", "--alg", "ES256", "--out", str(target))  # never overwrites a key


def test_generate_refuses_small_rsa_and_unknown_algorithms() -> None:
    with pytest.raises(CommandError, match="at least 2048"):
        run("generate", "--alg", "RS256", "--rsa-bits", "1024")
    with pytest.raises(CommandError):
        run("generate", "--alg", "none")


def test_status_shows_who_signs_and_when_each_key_goes(settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = ring_settings(
        entry(new_private_pem("ES256"), "ES256", "active", KID="current"),
        entry(new_private_pem("EdDSA"), "EdDSA", "next", KID="upcoming"),
        entry(new_private_pem("RS256"), "RS256", "retired", KID="old", RETIRED_AT=ago(timedelta(hours=0.5))),
        entry(SECRET, "HS256", "retired", KID="ancient", RETIRED_AT=ago(REFRESH_LIFETIME * 2)),
        JWKS_MAX_AGE=timedelta(minutes=10),
    )
    lines = {line.split("kid=")[1].split()[0]: line for line in run("status")[0].splitlines()}
    assert lines["current"].startswith("active")
    assert "signs new tokens" in lines["current"]
    assert "promote to active once published for JWKS_MAX_AGE (600 s)" in lines["upcoming"]
    assert "verifies tokens issued before" in lines["old"]
    assert "then dropped" in lines["old"]
    assert "remove it from SIGNING_KEYS" in lines["ancient"]
    assert "not published (HMAC)" in lines["ancient"]


def test_status_reports_a_broken_ring_and_verify_only_mode(settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = ring_settings(entry(new_private_pem("ES256"), "ES256", "next"))
    with pytest.raises(CommandError, match="0 active keys"):
        run("status")
    settings.RESTFLOW_SETTINGS = {"JWT": {"JWKS_URL": "https://issuer.test/jwks.json"}}
    assert "Verify-only" in run("status")[0]
