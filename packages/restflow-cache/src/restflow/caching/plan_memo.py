"""Memoized key plans: the plan of a call (entry key and scope keys) remembered per plain
arguments, so a hit does not rebuild its key.

Plans depend on ``RESTFLOW_SETTINGS`` (key suffix length, hash algorithm) and the cache
configuration: every memo is emptied when Django sends ``setting_changed`` for
``RESTFLOW_SETTINGS`` or ``CACHES`` (``override_settings`` and friends).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["PLAIN_TYPES", "Memo", "memo_key"]

_MEMO_LIMIT = 4096
PLAIN_TYPES = frozenset({int, str, type(None)})
_RESET_BY = frozenset({"RESTFLOW_SETTINGS", "CACHES"})
# Every memo, weakly (a dict is unhashable: a list of references, pruned as it grows).
_memos: list[weakref.ref[Memo]] = []


class Memo(dict[Any, Any]):
    """A bounded memo of values computed from plain arguments."""

    __slots__ = ("__weakref__",)

    def __init__(self) -> None:
        super().__init__()
        if len(_memos) >= 1024 and len(_memos) & 1023 == 0:
            _memos[:] = [ref for ref in _memos if ref() is not None]
        _memos.append(weakref.ref(self))

    def fetch(
        self,
        key: Any,
        build: Callable[[Any, Any], Any],
        args: Any,
        kwargs: Any,
    ) -> Any:
        """The value memoized under ``key``, else ``build(args, kwargs)`` (remembered).

        A ``None`` key (arguments :func:`memo_key` cannot identify) is built every time.
        """
        if key is None:
            return build(args, kwargs)
        value = self.get(key)
        if value is None:
            value = build(args, kwargs)
            if len(self) >= _MEMO_LIMIT:
                self.clear()
            self[key] = value
        return value


@receiver(setting_changed)
def _reset_memos(*, setting: str, **kwargs: Any) -> None:
    if setting in _RESET_BY:
        alive = [ref for ref in _memos if ref() is not None]
        for ref in alive:
            memo = ref()
            if memo is not None:
                memo.clear()
        _memos[:] = alive


def memo_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A hashable identity of plain arguments (``1`` and ``True`` never compare equal
    here: only exact ``int``/``str``/``None`` qualify), or ``None``."""
    for value in args:
        if type(value) not in PLAIN_TYPES:
            return None
    if not kwargs:
        return args
    for value in kwargs.values():
        if type(value) not in PLAIN_TYPES:
            return None
    return (args, tuple(kwargs.items()))
