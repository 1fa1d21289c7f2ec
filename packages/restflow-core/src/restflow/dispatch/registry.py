"""Find dispatchers by name: explicit registrations and the ``restflow.dispatchers`` group.

Entry points are loaded lazily, the first time a name is looked up (never at import or
at Django start-up), and once per process. A plugin that fails to import is reported
with the distribution that supplies it; the other plugins keep working.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from restflow.dispatch import _generation
from restflow.dispatch.base import Dispatcher, missing_dispatch_method
from restflow.settings import restflow_settings

if TYPE_CHECKING:  # imported when entry points are first read: ~5 ms off django.setup()
    from importlib.metadata import EntryPoint

__all__ = [
    "ENTRY_POINT_GROUP",
    "DispatcherNotFoundError",
    "DispatcherUnavailableError",
    "dispatcher_default_settings",
    "dispatcher_generation",
    "get_dispatcher",
    "get_dispatcher_class",
    "load_entry_point_dispatchers",
    "register_dispatcher",
    "registered_dispatcher_names",
    "unregister_dispatcher",
]

logger = logging.getLogger("restflow.dispatch.registry")

ENTRY_POINT_GROUP = "restflow.dispatchers"

#: Distributions that provide restflow's own broker dispatchers.
PLUGIN_DISTRIBUTIONS = {
    "celery": "restflow-dispatch-celery",
    "django_rq": "restflow-dispatch-rq",
    "dramatiq": "restflow-dispatch-dramatiq",
    "django_q": "restflow-dispatch-django-q",
}


class DispatcherNotFoundError(KeyError):
    """No dispatcher is registered under the requested name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DispatcherUnavailableError(DispatcherNotFoundError):
    """A dispatcher is declared by an installed distribution but failed to load."""


# Plain classes, not dataclasses: creating a dataclass costs ~0.5 ms at import, and this
# module is imported by django.setup().
class _Supplier:
    __slots__ = ("cls", "source")

    def __init__(self, cls: type[Dispatcher], source: str) -> None:
        self.cls = cls
        self.source = source  # "register_dispatcher()" or "<distribution> <version>"


class _Failure:
    __slots__ = ("distribution", "error", "target")

    def __init__(self, distribution: str, target: str, error: str) -> None:
        self.distribution = distribution
        self.target = target
        self.error = error


_lock = threading.RLock()
_explicit: dict[str, type[Dispatcher]] = {}
_entry_points: dict[str, _Supplier] = {}
_failures: dict[str, _Failure] = {}
_loaded = False


def _check_class(cls: Any) -> type[Dispatcher]:
    if not isinstance(cls, type) or not issubclass(cls, Dispatcher):
        raise TypeError(f"{cls!r} is not a subclass of restflow.dispatch.base.Dispatcher")
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__qualname__} must set a non-empty class attribute 'name'")
    problem = missing_dispatch_method(cls)
    if problem is not None:
        raise TypeError(problem)
    return cls


def register_dispatcher(cls: type[Dispatcher]) -> type[Dispatcher]:
    """Register ``cls`` under ``cls.name`` (usable as a class decorator).

    An explicit registration wins over an entry point of the same name; registering a
    name again replaces the earlier explicit registration.
    """
    _check_class(cls)
    with _lock:
        _explicit[cls.name] = cls
    _forget_blocks()
    return cls


def unregister_dispatcher(name: str) -> type[Dispatcher] | None:
    """Remove an explicit registration and return its class (for tests)."""
    with _lock:
        cls = _explicit.pop(name, None)
    _forget_blocks()
    return cls


def _forget_blocks() -> None:
    # The dispatcher behind a name changed: its settings block re-reads its defaults,
    # and whoever kept an instance resolves it again.
    restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS.reload()
    _bump_generation()


def _bump_generation() -> None:
    _generation.bump()


def dispatcher_generation() -> int:
    """A number that changes whenever a kept dispatcher instance may be stale: a
    registration, an unregistration, a forced entry-point reload, a worker-entry
    registration, or a change of ``RESTFLOW_SETTINGS`` (``DEFAULT_DISPATCHER``, a
    ``DISPATCHER_SETTINGS`` block). Keep it next to the instance and resolve again when
    it differs."""
    return _generation.current()


def _distribution_label(ep: EntryPoint) -> str:
    dist = ep.dist
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


def _distribution_name(ep: EntryPoint) -> str:
    dist = ep.dist
    return str(dist.metadata["Name"]) if dist is not None else ""


def _load_one(ep: EntryPoint) -> None:
    supplier = _distribution_label(ep)
    try:
        cls = ep.load()
    except Exception as exc:
        # A missing broker library (ImportError) or a broken plugin (AttributeError,
        # an error raised by its module): skip it, keep every other dispatcher working.
        dist = _distribution_name(ep) or PLUGIN_DISTRIBUTIONS.get(ep.name, "")
        _failures[ep.name] = _Failure(dist, ep.value, f"{type(exc).__name__}: {exc}")
        logger.warning(
            "restflow dispatcher %r from %s could not be imported (%s: %s); reinstall it "
            "with its dependencies: pip install --force-reinstall %s",
            ep.name, supplier, type(exc).__name__, exc, dist or ep.value,
            exc_info=not isinstance(exc, ImportError),
        )
        return
    try:
        _check_class(cls)
    except (TypeError, ValueError) as exc:
        _failures[ep.name] = _Failure(_distribution_name(ep), ep.value, str(exc))
        logger.warning("restflow dispatcher entry point %r from %s skipped: %s",
                       ep.name, supplier, exc)
        return
    name = cls.name
    if name != ep.name:
        logger.warning(
            "restflow dispatcher entry point %r from %s points at %s whose name is %r; "
            "registering it as %r",
            ep.name, supplier, cls.__qualname__, name, name,
        )
    existing = _entry_points.get(name)
    if existing is not None and existing.cls is not cls:
        logger.warning(
            "two distributions provide the restflow dispatcher %r: %s (%s, kept) and %s "
            "(%s, rejected); uninstall one of them",
            name, existing.source, existing.cls.__module__, supplier, cls.__module__,
        )
        return
    _entry_points[name] = _Supplier(cls, supplier)
    _failures.pop(ep.name, None)


def _register_builtin_fallbacks() -> None:
    # A source checkout without installed metadata yields no entry points at all.
    from restflow.dispatch.asyncio import AsyncIODispatcher
    from restflow.dispatch.inline import InlineDispatcher
    from restflow.dispatch.threadpool import ThreadPoolDispatcher

    for cls in (InlineDispatcher, ThreadPoolDispatcher, AsyncIODispatcher):
        _entry_points.setdefault(cls.name, _Supplier(cls, "restflow-core (built in)"))


def load_entry_point_dispatchers(*, force: bool = False) -> None:
    """Load the ``restflow.dispatchers`` entry-point group (once, unless ``force``)."""
    global _loaded
    with _lock:
        if _loaded and not force:
            return
        _entry_points.clear()
        _failures.clear()
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _load_one(ep)
        _register_builtin_fallbacks()
        _loaded = True
    if force:
        _forget_blocks()


def registered_dispatcher_names() -> list[str]:
    """Sorted names of every dispatcher available, explicit and from entry points."""
    load_entry_point_dispatchers()
    with _lock:
        return sorted(set(_explicit) | set(_entry_points))


def get_dispatcher_class(name: str) -> type[Dispatcher]:
    """The class registered as ``name``, or :class:`DispatcherNotFoundError`."""
    load_entry_point_dispatchers()
    with _lock:
        if name in _explicit:
            return _explicit[name]
        if name in _entry_points:
            return _entry_points[name].cls
        failure = _failures.get(name)
    if failure is not None:
        raise DispatcherUnavailableError(
            f"dispatcher {name!r} is declared by {failure.distribution or failure.target} "
            f"but failed to load ({failure.error}); reinstall it with its dependencies: "
            f"pip install --force-reinstall {failure.distribution or failure.target}"
        )
    message = (
        f"dispatcher {name!r} is not registered; registered dispatchers: "
        f"{', '.join(registered_dispatcher_names())}"
    )
    if name in PLUGIN_DISTRIBUTIONS:
        message = (
            f"dispatcher {name!r} is not installed: pip install {PLUGIN_DISTRIBUTIONS[name]} "
            f"(registered dispatchers: {', '.join(registered_dispatcher_names())})"
        )
    raise DispatcherNotFoundError(message)


def get_dispatcher(
    spec: str | type[Dispatcher], config: dict[str, Any] | None = None
) -> Dispatcher:
    """An instance of the dispatcher named ``spec`` (or of the class ``spec``)."""
    if isinstance(spec, str):
        cls = get_dispatcher_class(spec)
    elif isinstance(spec, type) and issubclass(spec, Dispatcher):
        cls = spec
    else:
        raise TypeError(
            f"a dispatcher is a registered name or a Dispatcher subclass, not {spec!r}"
        )
    return cls(**(config or {}))


def dispatcher_default_settings(name: str) -> dict[str, Any]:
    """The defaults of the settings block of dispatcher ``name``: ``RAISE_EXCEPTION``
    plus the class's ``default_settings``; ``{}`` when no dispatcher has that name."""
    try:
        cls = get_dispatcher_class(name)
    except DispatcherNotFoundError:
        return {}
    return {"RAISE_EXCEPTION": None, **cls.default_settings}
