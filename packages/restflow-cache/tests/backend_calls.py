"""Counting the Django cache API calls restflow makes (a test helper)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches

METHODS = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "touch", "incr")


def count_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the backend API calls restflow makes on the current ``default`` cache
    (outermost calls only: ``get_many`` of local memory calls ``get`` internally)."""
    cache = caches["default"]
    counts: Counter[str] = Counter()
    depth = threading.local()
    for name in METHODS:
        original = getattr(cache, name)

        def counting(
            *args: Any, __name: str = name, __orig: Callable[..., Any] = original, **kwargs: Any
        ) -> Any:
            level = getattr(depth, "level", 0)
            if level == 0:
                counts[__name] += 1
            depth.level = level + 1
            try:
                return __orig(*args, **kwargs)
            finally:
                depth.level = level

        monkeypatch.setattr(cache, name, counting)
    return counts
