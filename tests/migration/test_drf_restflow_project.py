"""The drf-restflow project of ``drf_restflow_project`` runs end to end on restflow:
its settings pass the checks, its tokens authenticate, refresh and are revoked, its
custom dispatcher carries the invalidation of its cached function."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.cache import caches
from django.test import override_settings
from drf_restflow_project.settings import RESTFLOW_SETTINGS
from invalidation_testapp.models import Author, Book
from rest_framework.test import APIClient

from restflow.authentication import RefreshToken, blacklist, is_blacklisted
from restflow.authentication.models import BlacklistedToken
from restflow.caching import CACHE_MISSING
from restflow.caching.registry import CacheRegister
from restflow.dispatch.registry import unregister_dispatcher

AUTH = "/jwt_testapp/auth/token/"
REFRESH = "/jwt_testapp/auth/token/refresh/"
WHOAMI = "/jwt_testapp/whoami/"
PASSWORD = "an old project's password"

MODULES = ("drf_restflow_project.dispatchers", "drf_restflow_project.catalogue")


@pytest.fixture
def project() -> Iterator[SimpleNamespace]:
    """The project's modules, imported (which registers its dispatcher and rule) under
    its settings; forgotten afterwards so no other test sees them."""
    with override_settings(RESTFLOW_SETTINGS=RESTFLOW_SETTINGS):
        caches["default"].clear()
        dispatchers, catalogue = (importlib.import_module(name) for name in MODULES)
        dispatchers.OUTBOX.clear()
        catalogue.CALLS.clear()
        try:
            yield SimpleNamespace(dispatchers=dispatchers, catalogue=catalogue)
        finally:
            CacheRegister.unregister(catalogue.titles_by_author)
            unregister_dispatcher("outbox")
            for name in MODULES:
                sys.modules.pop(name, None)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_the_settings_pass_the_system_checks_unchanged(project):
    found = [m for m in checks.run_checks() if (m.id or "").startswith("restflow")]
    assert [m for m in found if m.level >= checks.WARNING] == []


def obtain(client: APIClient) -> dict[str, str]:
    response = client.post(AUTH, {"username": "mig", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.django_db(transaction=True)
def test_tokens_authenticate_refresh_and_are_revoked(project):
    user = get_user_model().objects.create_user(username="mig", password=PASSWORD)
    client = APIClient()
    tokens = obtain(client)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200

    rotated = client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert client.get(WHOAMI, **bearer(rotated.json()["access"])).status_code == 200

    # Custom logout code: drf-restflow's TokenBlacklist facade becomes blacklist(token).
    fresh = rotated.json()["refresh"]
    jti = blacklist(fresh)
    assert jti == RefreshToken.verify(fresh).jti
    assert is_blacklisted(jti)
    assert BlacklistedToken.objects.filter(jti=jti).exists()  # ModelBlacklistBackend
    assert client.post(REFRESH, {"refresh": fresh}, format="json").status_code == 401
    # ROTATE_REFRESH_TOKENS: the token used for the rotation is spent.
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401

    # CHECK_REVOKE_TOKEN keeps its meaning: a password change ends the access token.
    access = obtain(client)["access"]
    assert client.get(WHOAMI, **bearer(access)).status_code == 200
    user.set_password("a new password")
    user.save()
    assert client.get(WHOAMI, **bearer(access)).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_custom_dispatcher_carries_the_invalidation(project):
    catalogue, dispatchers = project.catalogue, project.dispatchers
    book = Book.objects.create(author=Author.objects.create(name="Ann"), title="one")
    assert catalogue.titles_by_author(book.author_id) == ["one"]
    assert catalogue.titles_by_author(book.author_id) == ["one"]
    assert [book.author_id] == catalogue.CALLS

    catalogue.rename(book, "two")
    (job,) = [j for j in dispatchers.OUTBOX if any("titles_by_author" in r for r in j["rule_ids"])]
    assert job["topic"] == "cache-invalidation"  # its DISPATCHER_SETTINGS block, read live
    assert catalogue.titles_by_author.get_cache_only(book.author_id) == ["one"]  # not yet run

    assert dispatchers.drain() >= 1
    assert catalogue.titles_by_author.get_cache_only(book.author_id) is CACHE_MISSING
    assert catalogue.titles_by_author(book.author_id) == ["two"]
