"""A redis-py pool declared as in redis-py 5.0-5.2: ``get_connection`` requires the command name."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import redis


class CommandNamePool(redis.ConnectionPool):
    command_names: ClassVar[list[str]] = []

    def get_connection(self, command_name: str, *keys: Any, **options: Any) -> Any:  # type: ignore[override]
        CommandNamePool.command_names.append(command_name)
        with warnings.catch_warnings():  # redis-py 5.3+ deprecates the argument
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().get_connection(command_name, *keys, **options)
