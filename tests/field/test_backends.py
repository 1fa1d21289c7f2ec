"""cache_result and cache_response on every cache backend a project may configure.

Each backend is the project's ``default`` cache for the test (the project's other
aliases stay); servers are the test bed's private Redis and memcached.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from field_common.models import Article
from field_common.views import RENDERS, first_title
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)

BACKENDS = [
    "locmem",
    "database",
    "filebased",
    "redis",
    "django-redis",
    "pymemcache",
    "pymemcache-pool",
]


def _backend_settings(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if name == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "field"}
    if name == "database":
        # The table of the project's "db" alias, created with the test database.
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "field_cache_table"}
    if name == "filebased":
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    if name in ("redis", "django-redis"):
        from restflow_testbed.plugin import redis_cache_settings

        server = request.getfixturevalue("redis_server")
        db = 2 if name == "redis" else 3  # the custom project keeps 0 and 1
        return redis_cache_settings(server.db_url(db), "django" if name == "redis" else "django_redis")
    from restflow_testbed.memcached_server import memcached_cache_settings

    servers = request.getfixturevalue("memcached_servers")
    return memcached_cache_settings(
        [s.location for s in (servers if name == "pymemcache-pool" else servers[:1])]
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path, _fresh_state: None) -> Iterator[str]:
    from django.conf import settings
    from django.core.cache import caches
    from django.test.utils import override_settings

    config = _backend_settings(request.param, request, tmp_path)
    with override_settings(CACHES={**settings.CACHES, "default": config}):
        cache = caches["default"]
        assert type(cache).__module__ + "." + type(cache).__name__ == config["BACKEND"]
        cache.clear()
        yield request.param
        cache.clear()


@pytest.fixture
def article() -> Article:
    return Article.objects.create(title="First edition")


def test_cache_result_hit_and_invalidation(backend: str, article: Article) -> None:
    assert first_title.get_with_metadata()[1]["cache_status"] == "MISS"
    value, metadata = first_title.get_with_metadata()
    assert (value, metadata["cache_status"]) == ("First edition", "HIT")
    assert RENDERS["cache-result/shared"] == 1
    article.title = "Second edition"
    article.save()
    value, metadata = first_title.get_with_metadata()
    assert (value, metadata["cache_status"]) == ("Second edition", "MISS")
    assert first_title.get_with_metadata()[1]["cache_status"] == "HIT"


def test_cache_response_hit_and_invalidation(backend: str, article: Article) -> None:
    client = APIClient()
    path = "/shapes/apiview-request/shared/"
    first = client.get(path)
    second = client.get(path)
    assert (first["X-Cache-status"], second["X-Cache-status"]) == ("MISS", "HIT")
    expected = {"shape": "apiview-request", "title": "First edition", "user": None}
    assert second.json() == first.json() == expected
    article.title = "Second edition"
    article.save()
    third = client.get(path)
    assert third["X-Cache-status"] == "MISS"
    assert third.json()["title"] == "Second edition"


def test_cache_response_per_user(backend: str, article: Article, alice: Any, bob: Any) -> None:
    path = "/shapes/apiview-request/user/"
    clients = {}
    for person in (alice, bob):
        clients[person.name] = APIClient()
        clients[person.name].force_login(person.user)
    order = [alice.name, bob.name, alice.name, bob.name]
    seen = [(name, clients[name].get(path)) for name in order]
    assert [(name, r["X-Cache-status"], r.json()["user"]) for name, r in seen] == [
        (alice.name, "MISS", alice.name),
        (bob.name, "MISS", bob.name),
        (alice.name, "HIT", alice.name),
        (bob.name, "HIT", bob.name),
    ]
    assert APIClient().get(path).json()["user"] is None
