"""The redis-py differences restflow's Redis fast paths depend on, in one place.

restflow-jwt's pipelined blacklist read takes connections from a redis-py pool itself.
What a pool offers differs by release: ``get_connection()`` requires the command name up
to redis-py 5.2 and deprecates any argument from 5.3. The gate is decided here once per
pool class.

restflow-core does not depend on redis: nothing here imports it until called.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["connection_getter"]


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
