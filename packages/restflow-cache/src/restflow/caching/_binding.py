"""Fast, cached binding of call arguments to a function's parameters.

``inspect.signature`` costs microseconds per call; key building runs on every cache hit,
so the signature is analysed once per function and simple signatures (no ``*args`` /
``**kwargs``, no positional-only parameters) are bound with a few dict operations.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["bind_flat", "parameter_names"]

_P = inspect.Parameter
_SIMPLE_KINDS = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)


class _Binder:
    __slots__ = (
        "defaults",
        "names",
        "positional",
        "signature",
        "simple",
        "var_keyword",
        "var_positional",
    )

    def __init__(self, func: Callable[..., Any]) -> None:
        self.signature = inspect.signature(func)
        params = list(self.signature.parameters.values())
        self.names = tuple(p.name for p in params)
        self.simple = all(p.kind in _SIMPLE_KINDS for p in params)
        self.positional = tuple(p.name for p in params if p.kind == _P.POSITIONAL_OR_KEYWORD)
        self.defaults = tuple((p.name, p.default) for p in params if p.default is not _P.empty)
        self.var_positional = next((p.name for p in params if p.kind == _P.VAR_POSITIONAL), None)
        self.var_keyword = next((p.name for p in params if p.kind == _P.VAR_KEYWORD), None)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.simple and len(args) <= len(self.positional):
            bound = dict(zip(self.positional, args, strict=False))
            for name, value in kwargs.items():
                if name in bound or name not in self.names:
                    return self._slow(args, kwargs)  # let inspect raise its TypeError
                bound[name] = value
            for name, default in self.defaults:
                if name not in bound:
                    bound[name] = default
            return bound
        return self._slow(args, kwargs)

    def _slow(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = self.signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)


@functools.lru_cache(maxsize=4096)
def _cached_binder(func: Callable[..., Any]) -> _Binder:
    return _Binder(func)


def _binder(func: Callable[..., Any]) -> _Binder:
    try:
        return _cached_binder(func)
    except TypeError:
        if getattr(type(func), "__hash__", None) is None:
            return _Binder(func)  # unhashable callable: analysed on every call
        raise


def parameter_names(func: Callable[..., Any]) -> tuple[str, ...]:
    """Names of ``func``'s parameters, in order."""
    return _binder(func).names


def bind_flat(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Bind ``args``/``kwargs`` partially to ``func`` with defaults applied.

    ``**kwargs`` are merged into the result and an empty ``*args`` is left out, so
    ``get(self, request, **kwargs)`` and ``get(self, request, pk)`` produce the same
    mapping for ``pk=1`` (URL kwargs key the same either way).
    """
    binder = _binder(func)
    bound = binder.bind(args, kwargs)
    if binder.var_keyword is not None:
        extra = bound.pop(binder.var_keyword, None) or {}
        for name, value in extra.items():
            bound.setdefault(name, value)
    if binder.var_positional is not None and not bound.get(binder.var_positional):
        bound.pop(binder.var_positional, None)
    return bound
