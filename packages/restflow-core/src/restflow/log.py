"""Logging helpers shared by restflow's distributions."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["log_throttled", "reset_log_throttle"]

_last_logged: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def log_throttled(
    logger: logging.Logger,
    key: str,
    message: str,
    *args: Any,
    level: int = logging.WARNING,
    interval: float = 60.0,
    exc_info: Any = None,
) -> bool:
    """Log ``message`` at most once per ``interval`` seconds for each ``key``.

    Meant for conditions that repeat on every request while they last (a cache server
    that is down, a broker that refuses connections): the first occurrence is logged,
    the repeats within the interval are not. Returns whether the record was emitted.
    """
    now = time.monotonic()
    slot = (logger.name, key)
    with _lock:
        last = _last_logged.get(slot)
        if last is not None and now - last < interval:
            return False
        _last_logged[slot] = now
    logger.log(level, message, *args, exc_info=exc_info)
    return True


def reset_log_throttle() -> None:
    """Forget what was logged (tests use this to observe the next occurrence)."""
    with _lock:
        _last_logged.clear()
