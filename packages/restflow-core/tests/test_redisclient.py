"""The redis-py version gates of ``restflow._redisclient`` (shared by restflow-jwt and
restflow-cache)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from restflow._redisclient import connection_getter, stock_pool_class


class RequiredNamePool:
    """``get_connection`` as redis-py 5.0-5.2 declare it."""

    def get_connection(self, command_name: str, *keys: Any, **options: Any) -> tuple[str, Any]:
        return ("connection", command_name)


class OptionalNamePool:
    """``get_connection`` as redis-py 5.3 and later declare it (any argument deprecated)."""

    def get_connection(self, command_name: str | None = None, *keys: Any, **options: Any) -> tuple[str, Any]:
        if command_name is not None:
            raise AssertionError("an argument redis-py 5.3+ deprecates was passed")
        return ("connection", None)


def test_a_pool_that_requires_the_command_name_gets_it() -> None:
    assert connection_getter(RequiredNamePool(), "GET")() == ("connection", "GET")


def test_a_pool_that_takes_no_argument_gets_none() -> None:
    assert connection_getter(OptionalNamePool(), "GET")() == ("connection", None)


def test_the_installed_redis_pool() -> None:
    redis = pytest.importorskip("redis")
    pool = redis.ConnectionPool()
    major_minor = tuple(int(part) for part in redis.__version__.split(".")[:2])
    takes_none = major_minor >= (5, 3)
    assert (stock_pool_class() is redis.ConnectionPool) is (major_minor >= (6, 0))
    assert (connection_getter(pool, "GET") == pool.get_connection) is takes_none


def test_importing_it_does_not_import_redis() -> None:
    code = "import sys, restflow._redisclient; print('redis' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
