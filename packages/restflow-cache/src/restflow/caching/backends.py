"""Django cache backends as the storage model uses them: the per-thread backend lookup and
the throttled log of a degraded call, and the public import path of the calls themselves:
one-pass ``get_many`` (:mod:`._get_many`), the writes (:mod:`._writes`) and their async
side (:mod:`._async_io`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver

from restflow.caching._async_io import acall, adelete, aget_many, aset_many, aset_one, atouch
from restflow.caching._get_many import get_many
from restflow.caching._writes import delete, set_many, set_one, touch
from restflow.log import log_throttled

__all__ = [
    "acall",
    "adelete",
    "aget_many",
    "aset_many",
    "aset_one",
    "atouch",
    "degraded",
    "delete",
    "get_cache",
    "get_many",
    "set_many",
    "set_one",
    "touch",
]

logger = logging.getLogger("restflow.caching.storage")
DEGRADE_LOG_INTERVAL = 60.0


# -- backend lookup --------------------------------------------------------------------
# ``caches[alias]`` goes through asgiref's context-aware Local on every call; the hit path
# keeps the backend per thread instead. When ``CACHES`` changes the table is replaced, as
# Django replaces its own connections (every thread then looks its backends up again).
_local = threading.local()


@receiver(setting_changed)
def _forget_backends(*, setting: str, **kwargs: Any) -> None:
    global _local
    if setting == "CACHES":
        _local = threading.local()


def get_cache(alias: str) -> BaseCache:
    held: BaseCache | None = _local.__dict__.get(alias)
    if held is None:
        held = _local.__dict__[alias] = caches[alias]
    return held


# -- degraded I/O ----------------------------------------------------------------------
def degraded(alias: str, operation: str, exc: BaseException) -> None:
    """Log (throttled) that ``operation`` failed on ``alias`` and the call goes on without it."""
    log_throttled(
        logger,
        f"{alias}:{operation}",
        "Cache %r failed during %s (%s: %s); answering without the cache",
        alias,
        operation,
        type(exc).__name__,
        exc,
        interval=DEGRADE_LOG_INTERVAL,
    )

