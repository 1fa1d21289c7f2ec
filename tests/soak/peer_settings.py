"""The peers' build of the catalogue API: djangorestframework-simplejwt + drf-extensions.

Same models, serializers, database, cache and server as the restflow build
(``soak_settings``); only the authentication, the response cache and the invalidation
differ (``peer_views``).
"""

from __future__ import annotations

from datetime import timedelta

from soak_settings import *  # noqa: F403
from soak_settings import REST_FRAMEWORK, RESTFLOW_SETTINGS

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",  # rotation + blacklist, as teams run it
    "catalogue",
]
ROOT_URLCONF = "peer_urls"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
}

def _public_half(pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# The same ES256 key as the restflow build (the rig's key file): both sign and verify alike.
_PEM = RESTFLOW_SETTINGS["JWT"]["SIGNING_KEYS"][0]["KEY"]
SIMPLE_JWT = {
    "ALGORITHM": "ES256",
    "SIGNING_KEY": _PEM,
    "VERIFYING_KEY": _public_half(_PEM),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ISSUER": "restflow-demo",
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}
REST_FRAMEWORK_EXTENSIONS = {"DEFAULT_CACHE_RESPONSE_TIMEOUT": 600}
del RESTFLOW_SETTINGS
