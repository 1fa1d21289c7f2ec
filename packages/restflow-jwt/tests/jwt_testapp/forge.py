"""Hand-made tokens, the way an attacker would build them (no PyJWT safety nets)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import jwt

HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes] | None
) -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    signing_input = f"{head}.{body}".encode()
    signature = sign(signing_input) if sign else b""
    return f"{head}.{body}.{b64(signature)}"


def hmac_signer(alg: str, secret: bytes) -> Callable[[bytes], bytes]:
    return lambda message: hmac.new(secret, message, HMAC_HASHES[alg]).digest()


@functools.lru_cache(maxsize=64)
def _prepared(alg: str, private_pem: bytes) -> Any:
    return jwt.get_algorithm_by_name(alg).prepare_key(private_pem)


def key_signer(alg: str, private_pem: bytes) -> Callable[[bytes], bytes]:
    algorithm = jwt.get_algorithm_by_name(alg)
    key = _prepared(alg, private_pem)
    return lambda message: algorithm.sign(message, key)
