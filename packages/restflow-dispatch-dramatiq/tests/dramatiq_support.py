"""Helpers shared by the test modules (imported by name: keep this module name unique)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
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


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def queued_messages(client: Any, queue: str) -> list[dict[str, Any]]:
    """Messages waiting on a Dramatiq Redis queue (decoded)."""
    return [json.loads(raw) for raw in client.hvals(f"dramatiq:{queue}.msgs")]
