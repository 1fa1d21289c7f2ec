"""``cache_response``: cache rendered DRF view responses, safely by default (caching.md §8).

What is never stored (the response is returned, uncached):

- responses whose status is not in ``statuses`` (default: only ``200``);
- responses setting a cookie, saying ``Cache-Control: private``/``no-store``/``no-cache``,
  or varying on ``Cookie``/``Authorization``/``*``;
- responses that embed a CSRF token (the view called ``get_token``);
- streaming and file responses.

Requests that are not served from, nor written to, the cache:

- methods other than ``methods`` (default ``GET``/``HEAD``);
- requests authenticated as a user (or carrying ``request.auth``) unless the key
  constructor has a user-scoped field (``RequestValueKeyField("user.id")``) or the
  decorator says ``public=True`` (a request with ``request.auth`` but no authenticated
  user has no identity to key by: only ``public=True`` caches it);
- calls in which no request is found (no argument is a Django ``HttpRequest`` or a DRF
  ``Request`` and ``self.request`` is not set): a warning names the function, once.

Responses of calls that read or wrote ``request.session`` are not stored either.

The default key covers the URL kwargs (partition), the whole query string (hashed), the
negotiated renderer (format and media type) and the request's scheme and host.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import sys
import weakref
from collections.abc import Callable, Iterable
from typing import Any, cast

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.http import HttpResponse
from django.http.response import HttpResponseBase

from restflow.caching._binding import parameter_names
from restflow.caching._engine import Memo
from restflow.caching._requests import http_request, locate_request
from restflow.caching.key_constructor import KeyConstructor, KeyConstructorMetaClass
from restflow.caching.key_fields import (
    AcceptedRendererKeyField,
    HostKeyField,
    QueryParamsKeyField,
    ViewKwargsKeyField,
    user_identity,
)
from restflow.caching.wrapper import (
    _NO_STORE,
    CachedWrapper,
    KeyConstructorSpec,
    Metadata,
    set_response_cache_header,
)

__all__ = [
    "CachedResponseWrapper",
    "ResponseCacheKeyConstructor",
    "cache_response",
    "extract_view_and_request",
    "rebuild_http_response",
    "render_view_response_async",
    "render_view_response_sync",
    "serialize_response",
]

logger = logging.getLogger("restflow.caching.cache_response")

_COMMA = re.compile(r"\s*,\s*")
_PRIVATE_DIRECTIVES = frozenset({"private", "no-store", "no-cache"})
_UNSAFE_VARY = frozenset({"*", "cookie", "authorization"})

ResponseTriple = tuple[bytes, int, dict[str, str]]


def _defined_in_class(func: Callable[..., Any]) -> bool:
    """Whether ``func`` was defined in a class body (a view method), from its qualname."""
    parts = getattr(func, "__qualname__", "").split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


class ResponseCacheKeyConstructor(KeyConstructor):
    """URL kwargs as the partition; the hashed query string, the negotiated format, and
    the scheme and host. A subclass that sets ``host = None`` drops scheme and host."""

    query_params = QueryParamsKeyField("*", hash_value=True)
    path_params = ViewKwargsKeyField("*", partition=True)
    renderer = AcceptedRendererKeyField()
    host = HostKeyField()

    class Meta:
        version = 1
        namespace = "ResponseCache"


def extract_view_and_request(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any | None, Any | None]:
    """Locate the view instance and the request among a view function's arguments.

    The request is the ``request`` parameter, else the first argument that is a request
    (whatever its parameter's name), else ``self.request``.
    """
    names = parameter_names(func)
    view = args[0] if names[:1] == ("self",) and args else None
    request = locate_request(names, args, kwargs)[0]
    if view is None and request is not None:
        context = getattr(request, "parser_context", None) or {}
        view = context.get("view")
    return view, request


def _finalize(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], response: Any
) -> Any:
    view, request = extract_view_and_request(func, args, kwargs)
    if view is None or request is None or not hasattr(view, "finalize_response"):
        return response
    rest = [a for a in args if a is not view and a is not request]
    extra = {k: v for k, v in kwargs.items() if v is not request}
    return view.finalize_response(request, response, *rest, **extra)


def render_view_response_sync(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call the view, finalize it through DRF and render it."""
    response = _finalize(func, args, kwargs, func(*args, **kwargs))
    if not getattr(response, "streaming", False) and callable(getattr(response, "render", None)):
        response.render()
    return response


async def render_view_response_async(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    response = _finalize(func, args, kwargs, await func(*args, **kwargs))
    if getattr(response, "streaming", False):
        return response
    arender = getattr(response, "arender", None)
    if callable(arender) and inspect.iscoroutinefunction(arender):
        await arender()
    elif callable(getattr(response, "render", None)):
        response.render()
    return response


def serialize_response(response: Any) -> ResponseTriple:
    content = getattr(response, "rendered_content", None)
    if not isinstance(content, bytes):
        content = response.content
    return (bytes(content), int(response.status_code), dict(response.items()))


def rebuild_http_response(triple: ResponseTriple) -> HttpResponse:
    # Assembling the response's attributes directly (skipping the constructor's header
    # checks) bought under 10% of a hit (docs/benchmarks.md, "What each fast path buys").
    content, status, headers = triple
    return HttpResponse(content=content, status=status, headers=headers)


# What the view did that forbids storing its response (a CSRF token, the session), kept
# beside the response: the object the view returned is not changed. id -> (weak
# reference, reason); an entry goes when its response does.
_refusals: dict[int, tuple[weakref.ref[Any], str]] = {}


def _note_refusal(response: Any, reason: str) -> None:
    key = id(response)

    def forget(ref: weakref.ref[Any]) -> None:
        held = _refusals.get(key)
        if held is not None and held[0] is ref:
            _refusals.pop(key, None)

    _refusals[key] = (weakref.ref(response, forget), reason)


def _noted_refusal(response: Any) -> str | None:
    held = _refusals.get(id(response))
    return held[1] if held is not None and held[0]() is response else None


def _refusal(response: Any, statuses: frozenset[int]) -> str | None:
    """Why ``response`` must not be stored (``None`` when it may)."""
    if not isinstance(response, HttpResponseBase) or getattr(response, "streaming", False):
        return "not a complete HttpResponse"
    if response.status_code not in statuses:
        return f"status {response.status_code}"
    if response.cookies or response.has_header("Set-Cookie"):
        return "sets a cookie"
    directives = {
        d.split("=", 1)[0].strip().lower()
        for d in _COMMA.split(response.get("Cache-Control", ""))
        if d.strip()
    }
    if directives & _PRIVATE_DIRECTIVES:
        return "Cache-Control forbids shared caching"
    vary = {v.strip().lower() for v in _COMMA.split(response.get("Vary", "")) if v.strip()}
    if vary & _UNSAFE_VARY:
        return "varies on the user"
    return None


def _proxied(request: Any) -> Any:
    """Where ``request`` reads ``method`` and ``META`` from.

    A DRF ``Request`` (exact class) forwards those reads to the ``HttpRequest`` it wraps
    through ``__getattr__``, which runs only after a failed lookup (an internal
    ``AttributeError`` per read). The wrapped request is returned when the ``Request``
    has no attribute of its own by those names (``clone_request`` sets ``method`` on the
    instance); anything else is returned unchanged.
    """
    module = sys.modules.get("rest_framework.request")
    if module is None or type(request) is not getattr(module, "Request", None):
        return request
    own = request.__dict__
    wrapped = own.get("_request")
    if wrapped is None or "method" in own or "META" in own:
        return request
    return wrapped


def _identified(request: Any) -> tuple[bool, bool]:
    """``(authenticated, has_identity)``: whether the request is authenticated (as a user
    or by ``request.auth``), and whether a user-scoped key field can tell it apart."""
    try:
        auth = getattr(request, "auth", None)
        identity = user_identity(request)
    except Exception:
        return True, False  # authentication failed loudly: never share the answer
    return identity is not None or auth is not None, identity is not None


def _session_of(request: Any) -> Any:
    """The Django session of ``request`` (``None`` without ``SessionMiddleware``)."""
    http = http_request(request)
    session = getattr(http, "session", None) if http is not None else None
    return session if hasattr(session, "accessed") else None


_MEMO_QUERY_LIMIT = 512
_MEMO_TYPES = frozenset({int, str, type(None)})


def _request_index(func: Callable[..., Any]) -> int | None:
    """Position of ``request`` among the view function's parameters (0 or 1)."""
    names = parameter_names(func)
    if names[:2] == ("self", "request"):
        return 1
    if names[:1] == ("request",):
        return 0
    return None


def _has_default_shape(constructor: KeyConstructor) -> bool:
    """True when the key is made of exactly the default response fields."""
    kinds: dict[type, Any] = {type(f): f for f in constructor.fields.values()}
    host = kinds.get(HostKeyField)
    count = 3 if host is None else 4
    if len(kinds) != count or len(constructor.fields) != count:
        return False
    query = kinds.get(QueryParamsKeyField)
    path = kinds.get(ViewKwargsKeyField)
    return (
        (host is None or host.request_arg == "request")
        and AcceptedRendererKeyField in kinds
        and query is not None
        and query.params == "*"
        and query.request_arg == "request"
        and path is not None
        and path.arguments == "*"
        and path.path is None
        and path.normalizer is None
    )


def _with_format(constructor: KeyConstructor) -> KeyConstructor:
    """``constructor``, extended with the negotiated format when it does not key on it.

    The wrapper stays registered with the original class (``wipe`` reaches it); the
    namespace, identifier and version are inherited, so the key prefix is unchanged.
    """
    if any(isinstance(f, AcceptedRendererKeyField) for f in constructor.fields.values()):
        return constructor
    extended: Any = KeyConstructorMetaClass(
        f"{type(constructor).__name__}WithFormat",
        (type(constructor),),
        {"restflow_format": AcceptedRendererKeyField(), "__module__": __name__},
    )
    return extended()


class CachedResponseWrapper(CachedWrapper[Any, Any]):
    """A cached view method (or plain ``@api_view`` function). See the module docstring."""

    can_rewarm = False  # a view call cannot be rebuilt from model fields alone

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
        self._key_constructor = _with_format(self._key_constructor)
        if self.is_async:
            markcoroutinefunction(self)  # Django runs the view as async only when marked
        self._names = parameter_names(func)
        self._request_index = _request_index(func)
        self._skip_self = self._names[:1] == ("self",)
        self._orphan_warned = False
        default_shape = _has_default_shape(self._key_constructor)
        self._memo = Memo() if default_shape else None

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
        # The default key is a function of the query string, the URL args/kwargs, the
        # negotiated renderer, the scheme and the headers ``get_host()`` reads: memoize
        # plans on exactly those (plain values only).
        request, index = self._locate(args, kwargs)
        if request is None:
            return None
        start = 1 if self._skip_self else 0
        rest = args[start:index] + args[index + 1 :] if index >= start else args[start:]
        http = _proxied(request)
        meta = getattr(http, "META", None)
        renderer = getattr(request, "accepted_renderer", None)
        if meta is None or renderer is None:
            return None
        query = meta.get("QUERY_STRING", "")
        if len(query) > _MEMO_QUERY_LIMIT:
            return None
        for value in rest:
            if type(value) not in _MEMO_TYPES:
                return None
        extra: tuple[tuple[str, Any], ...] = ()
        if kwargs:
            extra = tuple(item for item in kwargs.items() if item[1] is not request)
            for _name, value in extra:
                if type(value) not in _MEMO_TYPES:
                    return None
        # What ``get_host()`` reads: the forwarded host (when trusted), the Host header,
        # else the server name and port (forwarded port when trusted).
        host: Any = meta.get("HTTP_HOST")
        if host is None:
            host = (meta.get("SERVER_NAME"), meta.get("SERVER_PORT"), meta.get("HTTP_X_FORWARDED_PORT"))
        return (
            query,
            rest,
            extra,
            renderer.format,
            getattr(request, "accepted_media_type", None),
            http.scheme,
            host,
            meta.get("HTTP_X_FORWARDED_HOST"),
        )

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
        method = getattr(_proxied(request), "method", None)
        if method is not None and method.upper() not in self.methods:
            return True
        if self.public:
            return False
        authenticated, identified = _identified(request)
        if not authenticated or (identified and self._user_scoped):
            return False
        logger.debug(
            "%s: not caching a response for an authenticated request (add a user-scoped "
            "key field or pass public=True)",
            self.func.__qualname__,
        )
        return True

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
        request = self._request_arg(args, kwargs)
        session = _session_of(request)
        if session is None:
            return self._flag(request, render_view_response_sync(self.func, args, kwargs), False)
        accessed, session.accessed = session.accessed, False
        try:
            response = render_view_response_sync(self.func, args, kwargs)
        finally:
            used = session.accessed or session.modified
            session.accessed = accessed or session.accessed
        return self._flag(request, response, used)

    async def _run_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        request = self._request_arg(args, kwargs)
        session = _session_of(request)
        accessed = False
        if session is not None:
            accessed, session.accessed = session.accessed, False
        try:
            if not self.is_async:
                response = render_view_response_sync(self.func, args, kwargs)
            else:
                response = await render_view_response_async(self.func, args, kwargs)
        finally:
            used = session is not None and (session.accessed or session.modified)
            if session is not None:
                session.accessed = accessed or session.accessed
        return self._flag(request, response, used)

    def _flag(self, request: Any, response: Any, session_used: bool) -> Any:
        """Mark ``response`` with what the view did that forbids sharing it."""
        if not isinstance(response, HttpResponseBase):
            return response
        meta = getattr(request, "META", None) or {}
        if meta.get("CSRF_COOKIE_NEEDS_UPDATE"):
            _note_refusal(response, "embeds a CSRF token")
        elif session_used:
            _note_refusal(response, "read or wrote the session")
        return response

    def _storable(self, result: Any) -> Any:
        reason = _refusal(result, self.statuses) or _noted_refusal(result)
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
    *,
    public: bool = False,
    statuses: Iterable[int] = (200,),
    methods: Iterable[str] = ("GET", "HEAD"),
    lock: bool = False,
    lock_timeout: float = 10.0,
    cache_alias: str = "default",
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
            public=public,
            statuses=statuses,
            methods=methods,
            lock=lock,
            lock_timeout=lock_timeout,
            cache_alias=cache_alias,
        )

    return decorate
