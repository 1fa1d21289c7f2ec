"""Every cache decorator on every view shape: MISS then HIT, invalidation, user isolation.

Shapes and scopes are in ``field_common.views``; requests go through the project's URLs
and middleware (sessions, CSRF, authentication) with DRF's ``APIClient``.
"""

from __future__ import annotations

from typing import Any

import pytest
from field_common.models import Article
from field_common.views import BUILD_ERRORS, DJANGO_SHAPES, RENDERS, SCOPES, SHAPES
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def article() -> Article:
    return Article.objects.create(title="First edition")


def url(shape: str, scope: str, article: Article) -> str:
    if shape == "viewset-list":
        return f"/shapes/viewset/{scope}/"
    if shape == "viewset-retrieve":
        return f"/shapes/viewset/{scope}/{article.pk}/"
    if shape == "viewset-action":
        return f"/shapes/viewset/{scope}/recent/"
    return f"/shapes/{shape}/{scope}/"


def get(client: Any, path: str, **headers: str) -> tuple[str | None, dict[str, Any]]:
    response = client.get(path, **headers)
    assert response.status_code == 200, (path, response.status_code, response.content[:500])
    return response.get("X-Cache-status"), response.json()


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_can_be_declared(shape: str) -> None:
    errors = {name: error for name, error in BUILD_ERRORS.items() if name.startswith(f"{shape}/")}
    assert errors == {}


@pytest.mark.parametrize("shape", SHAPES)
def test_miss_then_hit(shape: str, article: Article) -> None:
    client = APIClient()
    path = url(shape, "shared", article)
    first = get(client, path)
    second = get(client, path)
    assert (first[0], second[0]) == ("MISS", "HIT")
    assert second[1] == first[1] == {"shape": shape, "title": "First edition", "user": None}
    assert RENDERS[f"{shape}/shared"] == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_a_save_invalidates(shape: str, article: Article) -> None:
    client = APIClient()
    path = url(shape, "shared", article)
    assert get(client, path)[0] == "MISS"
    assert get(client, path)[0] == "HIT"
    article.title = "Second edition"
    article.save()
    status, body = get(client, path)
    assert status == "MISS"
    assert body["title"] == "Second edition"
    assert get(client, path) == ("HIT", body)


def _isolation_cases() -> list[Any]:
    cases = []
    for shape in SHAPES:
        for scope in SCOPES:
            # A plain Django view does not run DRF's authentication: JWT does not apply.
            for auth in ("session",) if shape in DJANGO_SHAPES else ("jwt", "session"):
                cases.append(pytest.param(shape, scope, auth, id=f"{shape}-{scope}-{auth}"))
    return cases


@pytest.mark.parametrize(("shape", "scope", "auth"), _isolation_cases())
def test_user_isolation(shape: str, scope: str, auth: str, article: Article, alice: Any, bob: Any) -> None:
    """Anonymous, Alice (twice), Bob, anonymous: each sees only their own page."""
    from restflow.authentication import AccessToken

    path = url(shape, scope, article)

    def client_for(person: Any) -> tuple[APIClient, dict[str, str]]:
        client = APIClient()
        if auth == "session":
            client.force_login(person.user)
            return client, {}
        return client, {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(person.user)}"}

    anonymous = APIClient()
    assert get(anonymous, path)[1]["user"] is None
    alice_client, alice_headers = client_for(alice)
    first = get(alice_client, path, **alice_headers)
    assert first[1]["user"] == alice.name
    again = get(alice_client, path, **alice_headers)
    assert again[1]["user"] == alice.name
    if scope == "user":
        assert (first[0], again[0]) == ("MISS", "HIT")  # Alice's own entry serves Alice
    bob_client, bob_headers = client_for(bob)
    assert get(bob_client, path, **bob_headers)[1]["user"] == bob.name
    assert get(APIClient(), path)[1]["user"] is None
