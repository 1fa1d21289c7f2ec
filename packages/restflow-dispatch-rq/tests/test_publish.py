"""The bounded publishing client: built from the project's client, never changing it.

The project's client (``RQ_QUEUES``, possibly a django-redis cache's own client through
``USE_REDIS_CACHE``) is only read; a client or connection pool of another class, or a
redis-py whose pool lacks the attributes read here, is used as configured.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from restflow_testbed.dispatch_fixtures import BROKER_DB
from restflow_testbed.redis_server import RedisServer

from restflow.dispatch.django_rq._publish import _bounded_client

pytestmark = [pytest.mark.redis]


class AuditedRedis(redis.Redis):
    """A project's own client class (django-redis ``REDIS_CLIENT_CLASS``, say)."""


def _settings(client: redis.Redis) -> dict[str, Any]:
    return dict(client.connection_pool.connection_kwargs)


def test_the_bounded_client_has_the_timeout_and_the_projects_client_is_unchanged(
    broker_redis: RedisServer,
) -> None:
    mine = redis.Redis.from_url(broker_redis.db_url(BROKER_DB))
    before = _settings(mine)
    bounded = _bounded_client(mine, 0.5)
    assert bounded is not mine
    assert _settings(mine) == before
    settings = _settings(bounded)
    assert (settings["socket_timeout"], settings["socket_connect_timeout"]) == (0.5, 0.5)
    assert (settings["host"], settings["port"], settings["db"]) == (
        before["host"], before["port"], before["db"])
    assert bounded.ping() is True
    assert _bounded_client(mine, 0.5) is bounded


def test_a_client_of_the_projects_own_class_is_used_as_configured(
    broker_redis: RedisServer,
) -> None:
    mine = AuditedRedis.from_url(broker_redis.db_url(BROKER_DB))
    assert _bounded_client(mine, 0.5) is mine


def test_a_pool_without_readable_connection_settings_is_used_as_configured(
    broker_redis: RedisServer,
) -> None:
    """Another redis-py may keep its connection settings elsewhere (redis-py 8 already
    serves them through a property): no timeout then, never an error that would send
    every job inline."""
    pool = redis.ConnectionPool.from_url(broker_redis.db_url(BROKER_DB))
    mine = redis.Redis(connection_pool=pool)
    pool.connection_kwargs = None  # type: ignore[assignment]
    assert _bounded_client(mine, 0.5) is mine
