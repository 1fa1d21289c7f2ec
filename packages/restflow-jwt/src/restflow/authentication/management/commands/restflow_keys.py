"""``manage.py restflow_keys``: generate a signing key, or show the key ring's schedule.

``generate --alg ES256`` prints the private key (PEM) on stdout, or writes it to
``--out`` (mode 0600); the kid and the settings snippet go to stderr (or stdout with
``--out``). Nothing is logged, and no private material is written anywhere else.
``status`` lists which key signs, which verify, and when each can be promoted or dropped.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from restflow.authentication.constants import ALLOWED_ALGORITHMS, HMAC_ALGORITHMS

_CURVES = {"ES256": "SECP256R1", "ES384": "SECP384R1", "ES512": "SECP521R1", "ES256K": "SECP256K1"}


def _private_key(algorithm: str, rsa_bits: int) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm in _CURVES:
        return ec.generate_private_key(getattr(ec, _CURVES[algorithm])())
    return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)


def _pem(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


class Command(BaseCommand):
    help = "Generate a JWT signing key (generate), or show the key ring and its schedule (status)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser("generate", help="Make a new key for SIGNING_KEYS.")
        generate.add_argument("--alg", required=True, choices=ALLOWED_ALGORITHMS)
        generate.add_argument("--out", help="Write the key to this new file (mode 0600).")
        generate.add_argument(
            "--rsa-bits", type=int, default=3072, help="RSA modulus size (default 3072)."
        )
        sub.add_parser("status", help="Which key signs, which verify, when each can go.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "generate":
            self._generate(options["alg"], options["out"], options["rsa_bits"])
        else:
            self._status()

    def _generate(self, algorithm: str, out: str | None, rsa_bits: int) -> None:
        from restflow.authentication.keyring import default_kid
        from restflow.authentication.keys import prepare_verifying_key

        if rsa_bits < 2048:
            raise CommandError("--rsa-bits must be at least 2048.")
        if algorithm in HMAC_ALGORITHMS:
            material = secrets.token_urlsafe(64)
        else:
            material = _pem(_private_key(algorithm, rsa_bits))
        kid = default_kid(algorithm, prepare_verifying_key(algorithm, None, material))
        what = "secret" if algorithm in HMAC_ALGORITHMS else "private key (PEM)"
        if out is None:
            self.stdout.write(material, ending="\n" if algorithm in HMAC_ALGORITHMS else "")
            notes = self.stderr
        else:
            try:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                raise CommandError(f"cannot create {out}: {exc.strerror}") from None
            with os.fdopen(fd, "w") as handle:
                handle.write(material)
            notes = self.stdout
            notes.write(f"Wrote the {algorithm} {what} to {out} (mode 0600).")
        notes.write(f"kid: {kid}")
        notes.write(
            "Add it to RESTFLOW_SETTINGS['JWT']['SIGNING_KEYS'] as "
            f'{{"KEY": <the {what}>, "ALGORITHM": "{algorithm}", "STATE": "next"}} '
            "and promote it to 'active' once it has been published for JWKS_MAX_AGE."
        )

    def _status(self) -> None:
        from restflow.authentication.config import get_config
        from restflow.authentication.exceptions import JWTConfigurationError
        from restflow.authentication.keyring import ACTIVE, NEXT

        config = get_config()
        if config.jwks_url is not None:
            self.stdout.write(
                f"Verify-only: keys come from JWKS_URL {config.jwks_url}; this service signs nothing."
            )
            return
        try:
            ring = config.key_ring
        except JWTConfigurationError as exc:
            raise CommandError(str(exc)) from None
        now = time.time()
        max_age = int(config.jwks_max_age)
        for key in ring.keys:
            published = "published" if key.published else "not published (HMAC)"
            if key.state == ACTIVE:
                plan = "signs new tokens; retire it after promoting a next key"
            elif key.state == NEXT:
                plan = f"verifies; promote to active once published for JWKS_MAX_AGE ({max_age} s)"
            elif key.verify_until > now:
                plan = (
                    f"verifies tokens issued before {_when(key.retired_at or 0)} "
                    f"until {_when(key.verify_until)}, then dropped"
                )
            else:
                plan = f"dropped since {_when(key.verify_until)}: remove it from SIGNING_KEYS"
            self.stdout.write(f"{key.state:<8} {key.algorithm:<6} kid={key.kid}  {published}; {plan}")
