"""Helpers shared by the test modules (imported by name: keep this module name unique)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def use_broker(broker: Any) -> Iterator[Any]:
    """Make ``broker`` the global Dramatiq broker for the block."""
    import dramatiq
    import dramatiq.broker

    previous = dramatiq.broker.global_broker
    dramatiq.set_broker(broker)
    try:
        yield broker
    finally:
        dramatiq.broker.global_broker = previous
