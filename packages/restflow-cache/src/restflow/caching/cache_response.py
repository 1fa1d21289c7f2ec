"""``cache_response``: cache rendered DRF view responses, safely by default (docs/caching.md,
Caching DRF responses). The wrapper and the decorator; the default key is in
:mod:`~restflow.caching.response_keys`, what may be shared in
:mod:`~restflow.caching.response_policy`, the stored form in
:mod:`~restflow.caching.response_store`.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, Unpack, cast

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.core.exceptions import SynchronousOnlyOperation

from restflow.caching._binding import parameter_names
from restflow.caching._requests import extract_view_and_request, http_request, locate_request
from restflow.caching.plan_memo import Memo
from restflow.caching.request_key_fields import user_identity
from restflow.caching.response_keys import (
    ResponseCacheKeyConstructor,
    has_default_shape,
    request_index,
    response_memo_key,
    with_format,
)
from restflow.caching.response_policy import (
    refusal,
    request_refusal,
    run_view_async,
    run_view_sync,
)
from restflow.caching.response_store import (
    rebuild_http_response,
    render_view_response_async,
    render_view_response_sync,
    serialize_response,
)
from restflow.caching.wrapper import (
    _NO_STORE,
    CachedWrapper,
    CacheOptions,
    KeyConstructorSpec,
    Metadata,
    set_response_cache_header,
)

__all__ = [
    "CachedResponseWrapper",
    "ResponseCacheKeyConstructor",
    "ResponseOptions",
    "cache_response",
    "extract_view_and_request",
    "rebuild_http_response",
    "render_view_response_async",
    "render_view_response_sync",
    "serialize_response",
]

logger = logging.getLogger("restflow.caching.cache_response")

class ResponseOptions(CacheOptions, total=False):
    """:class:`~restflow.caching.wrapper.CacheOptions` and the response policy's options,
    passed on to :class:`CachedResponseWrapper` unchanged (defaults: ``public=False``,
    ``statuses=(200,)``, ``methods=("GET", "HEAD")``)."""

    public: bool
    statuses: Iterable[int]
    methods: Iterable[str]


def _defined_in_class(func: Callable[..., Any]) -> bool:
    """Whether ``func`` was defined in a class body (a view method), from its qualname."""
    parts = getattr(func, "__qualname__", "").split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


class CachedResponseWrapper(CachedWrapper[Any, Any]):
    """A cached view method (or plain ``@api_view`` function). See the module docstring."""

    def _rule_parameters(self) -> tuple[str, ...]:
        # ``self``, the request (the first positional parameter after ``self``, whatever
        # its name: ``request``, ``req``...) and ``*args``/``**kwargs`` are not keys a rule
        # can map: a list view's rule without field_mapping drops the whole view's entries.
        signature = inspect.signature(self.func)
        named = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        positional = [name for name, param in signature.parameters.items() if param.kind in named]
        skipped = {"request"}
        if positional and (positional[0] == "self" or _defined_in_class(self.func)):
            skipped.add(positional.pop(0))
        if positional:
            skipped.add(positional[0])
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return tuple(
            name
            for name, param in signature.parameters.items()
            if name not in skipped and param.kind not in variadic
        )

    def __init__(
        self,
        func: Callable[..., Any],
        key_constructor: KeyConstructorSpec | None = None,
        invalidates_on: list[Any] | None = None,
        cache_if: Callable[[Any], Any] | None = None,
        cache_unless: Callable[[Any], Any] | None = None,
        ttl: int | None = 3600,
        set_cache_headers: bool = False,
        *,
        public: bool = False,
        statuses: Iterable[int] = (200,),
        methods: Iterable[str] = ("GET", "HEAD"),
        lock: bool = False,
        lock_timeout: float = 10.0,
        cache_alias: str = "default",
    ) -> None:
        super().__init__(
            func,
            ResponseCacheKeyConstructor if key_constructor is None else key_constructor,
            ttl,
            invalidates_on,
            cache_if,
            cache_unless,
            lock=lock,
            lock_timeout=lock_timeout,
            cache_alias=cache_alias,
        )
        self.set_cache_headers = bool(set_cache_headers)
        self._want_meta = self.set_cache_headers
        self.public = bool(public)
        self.statuses = frozenset(int(s) for s in statuses)
        self.methods = frozenset(m.upper() for m in methods)
        self._user_scoped = self.key_constructor.has_user_scoped_field
        self._key_constructor = with_format(self._key_constructor)
        if self.is_async:
            markcoroutinefunction(self)  # Django runs the view as async only when marked
        self._names = parameter_names(func)
        self._request_index = request_index(func)
        self._skip_self = self._names[:1] == ("self",)
        self._orphan_warned = False
        self._memo = Memo() if has_default_shape(self._key_constructor) else None

    def _locate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, int]:
        """``(request, index in args or -1)``, found as ``extract_view_and_request`` does."""
        index = self._request_index
        if index is not None:
            if kwargs and "request" in kwargs:
                return kwargs["request"], -1
            if len(args) > index:
                return args[index], index
        return locate_request(self._names, args, kwargs)

    def _request_arg(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The request of this call (see ``extract_view_and_request``), or ``None``."""
        return self._locate(args, kwargs)[0]

    def _memo_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        request, index = self._locate(args, kwargs)
        return response_memo_key(request, index, self._skip_self, args, kwargs)

    def _bypass(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        request = self._request_arg(args, kwargs)
        if request is None:
            if not self._orphan_warned:
                self._orphan_warned = True
                logger.warning(
                    "%s: cache_response found no request (no argument is a Django HttpRequest "
                    "or a DRF Request, and self.request is not set): its responses are not "
                    "cached",
                    self.func.__qualname__,
                )
            return True
        reason = request_refusal(request, self.methods, self.public, self._user_scoped)
        if reason is not None and reason != "method":
            logger.debug("%s: not caching a response: %s", self.func.__qualname__, reason)
        return reason is not None

    async def _alookup(self, args: tuple[Any, ...], kwargs: dict[str, Any], meta: bool) -> Any:
        # An async view under AuthenticationMiddleware: ``request.user`` is a lazy object
        # whose first read queries the session and user tables, which Django refuses in
        # the event loop. Read it once in a worker thread (it stays resolved), so the
        # bypass decision and the user-scoped key fields can read it here; resolve
        # ``request.auser()`` too, so the view's own call reads no session (which would
        # forbid storing its answer).
        request = self._request_arg(args, kwargs)
        if request is not None:
            auser = getattr(http_request(request), "auser", None)
            if callable(auser):
                await auser()
            try:
                user_identity(request)
            except SynchronousOnlyOperation:
                await sync_to_async(user_identity)(request)
        return await super()._alookup(args, kwargs, meta)

    def _run_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return run_view_sync(self.func, args, kwargs, self._request_arg(args, kwargs))

    async def _run_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        request = self._request_arg(args, kwargs)
        return await run_view_async(self.func, args, kwargs, request, self.is_async)

    def _storable(self, result: Any) -> Any:
        reason = refusal(result, self.statuses)
        if reason is not None:
            logger.debug("%s: response not cached: %s", self.func.__qualname__, reason)
            return _NO_STORE
        return serialize_response(result)

    def _from_stored(self, value: Any) -> Any:
        return rebuild_http_response(value)

    def _deliver(self, result: Any, metadata: Metadata | None) -> Any:
        if self.set_cache_headers and metadata:
            set_response_cache_header(result, metadata)
        return result


def _bound_method_of(func: Any) -> Any:
    """The bound method ``method_decorator`` hands a decorator (a bare ``partial`` of
    one), or ``None``."""
    if type(func) is not functools.partial or func.args or func.keywords:
        return None
    method = func.func
    if inspect.ismethod(method) and inspect.isfunction(method.__func__):
        return method
    return None


def cache_response(
    key_constructor: KeyConstructorSpec | None = None,
    ttl: int | None = 3600,
    invalidates_on: list[Any] | None = None,
    cache_if: Callable[[Any], Any] | None = None,
    cache_unless: Callable[[Any], Any] | None = None,
    set_cache_headers: bool = False,
    **options: Unpack[ResponseOptions],
) -> Callable[[Callable[..., Any]], CachedResponseWrapper]:
    """Cache a DRF view method's (or an ``@api_view`` function's) rendered response.

    Put it *below* ``@api_view`` so it wraps the original function.
    """

    made: dict[Any, CachedResponseWrapper] = {}

    def decorate(func: Callable[..., Any]) -> CachedResponseWrapper:
        method = _bound_method_of(func)
        if method is not None:
            # ``method_decorator`` decorates a fresh ``partial`` of the bound method on
            # every request: wrap the function once and bind it to this request's view.
            wrapper = made.get(method.__func__)
            if wrapper is None:
                wrapper = made.setdefault(method.__func__, decorate(method.__func__))
            bound: Any = wrapper.__get__(method.__self__, type(method.__self__))
            # Only ``method_decorator`` sees this bound partial; it calls it at once.
            return cast(CachedResponseWrapper, functools.update_wrapper(bound, func))
        return CachedResponseWrapper(
            func,
            key_constructor,
            invalidates_on,
            cache_if,
            cache_unless,
            ttl,
            set_cache_headers,
            **options,
        )

    return decorate
