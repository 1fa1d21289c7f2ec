"""The redis-py differences restflow's Redis fast paths depend on, in one place.

restflow-jwt's blacklist read and restflow-cache's hit read take connections from a
redis-py pool themselves. What a pool offers differs by release: ``get_connection()``
requires the command name up to redis-py 5.2 and deprecates any argument from 5.3;
newer releases record commands for OpenTelemetry inside ``execute_command``. Each gate
is decided here once per pool class or process.

restflow-core does not depend on redis: nothing here imports it until called.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["connection_getter", "stock_pool_class", "telemetry_on"]


@functools.cache
def _takes_command_name(pool_class: Any) -> bool:
    """Whether ``pool_class.get_connection`` requires the command name (redis-py < 5.3)."""
    try:
        parameters = inspect.signature(pool_class.get_connection).parameters
    except (TypeError, ValueError):
        return True  # unknown: every release accepts the name (5.3+ only warns)
    command_name = parameters.get("command_name")
    return command_name is not None and command_name.default is inspect.Parameter.empty


def connection_getter(pool: Any, command_name: str) -> Callable[[], Any]:
    """A callable taking a connection from ``pool`` for ``command_name``.

    redis-py 5.0-5.2 pools require the command name (a ``TypeError`` without it);
    5.3 and later take no argument and warn about one. Resolved once, outside the hot path.
    """
    if _takes_command_name(pool.__class__):
        return functools.partial(pool.get_connection, command_name)
    return pool.get_connection


@functools.cache
def stock_pool_class() -> type | None:
    """``redis.ConnectionPool`` on redis-py 6 and later; ``None`` otherwise, which keeps
    reads on redis-py's public path. Before 6, ``get_connection()`` needs the command name
    (up to 5.2), and a connection's own retry policy does not retry a read whose
    connection dropped the way ``execute_command`` does (5.x), so a hand-sent command
    would fail where the public call succeeds."""
    import redis

    pool_class: type = redis.ConnectionPool
    major = int(str(getattr(redis, "__version__", "0")).split(".", 1)[0] or 0)
    return None if major < 6 or _takes_command_name(pool_class) else pool_class


def telemetry_on() -> bool:
    """Whether redis-py's OpenTelemetry metrics (newer redis-py releases) are enabled: they
    record every command sent through ``execute_command``, so reads must take that path."""
    providers = sys.modules.get("redis.observability.providers")
    return providers is not None and bool(providers.get_observability_instance().is_enabled())
