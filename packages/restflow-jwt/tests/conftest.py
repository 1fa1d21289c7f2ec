"""Shared fixtures of restflow-jwt's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.contrib.auth import get_user_model
from django.core.cache import caches
from jwt_testapp.support import PASSWORD, SECRET, jwt_dict, pem_pair
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _jwt_base(settings: Any) -> None:
    settings.RESTFLOW_SETTINGS = jwt_dict()
    caches["default"].clear()  # the test bed's LocMemCache outlives a test


@pytest.fixture
def configure_jwt(settings: Any) -> Callable[..., None]:
    """``configure_jwt(KEY=value, ...)``: the base test settings plus these JWT keys."""

    def configure(**jwt: Any) -> None:
        settings.RESTFLOW_SETTINGS = jwt_dict(**jwt)

    return configure


@pytest.fixture
def use_redis(settings: Any, redis_caches: dict[str, Any]) -> str:
    """The default cache on the private Redis server; locmem no longer allowed."""
    settings.CACHES = redis_caches
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET}}
    return str(redis_caches["default"]["LOCATION"])


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user(
        username="alice", password=PASSWORD, email="alice@example.com"
    )


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def _generate_key_pairs() -> dict[str, tuple[bytes, bytes]]:
    return {
        "RSA": pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "P-256": pem_pair(ec.generate_private_key(ec.SECP256R1())),
        "P-384": pem_pair(ec.generate_private_key(ec.SECP384R1())),
        "P-521": pem_pair(ec.generate_private_key(ec.SECP521R1())),
        "secp256k1": pem_pair(ec.generate_private_key(ec.SECP256K1())),
        "Ed25519": pem_pair(ed25519.Ed25519PrivateKey.generate()),
    }


@pytest.fixture(scope="session")
def key_pairs() -> dict[str, tuple[bytes, bytes]]:
    """The server's (private PEM, public PEM) pair per asymmetric key family."""
    return _generate_key_pairs()


@pytest.fixture(scope="session")
def attacker_key_pairs() -> dict[str, tuple[bytes, bytes]]:
    """Other key pairs of the same families, owned by an attacker."""
    return _generate_key_pairs()


@pytest.fixture
def short_id_model(db: Any) -> Any:
    """``jwt_testapp.ShortIdUser`` (32-bit ``AutoField``) as the JWT user model."""
    from jwt_testapp.models import ShortIdUser

    from restflow.authentication.config import get_config

    get_config().__dict__["user_model"] = ShortIdUser  # the cached property's slot
    return ShortIdUser


@pytest.fixture
def short_id_user(short_id_model: Any) -> Any:
    user = short_id_model(username="bob")
    user.set_password(PASSWORD)
    user.save()
    return user
