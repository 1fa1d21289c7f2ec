"""The :class:`Dispatcher` base class and the helpers every dispatcher shares.

A dispatcher moves a JSON job (rule ids + keyword arguments per rule) to the place where
it runs: the calling thread, a thread pool, the event loop, or a broker's worker. The
job itself is always executed by the worker entry its owner registered with
:mod:`restflow.dispatch.worker` (restflow-cache does, when its app is ready).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable
from typing import Any, ClassVar, cast

from restflow.dispatch import _generation
from restflow.dispatch.worker import (
    Worker,
    WorkerError,
    import_dotted,
    run_fallback,
    worker_entry,
    worker_path,
)
from restflow.settings import RestflowSettings, restflow_settings

__all__ = [
    "FALLBACK_INLINE",
    "FALLBACK_RAISE",
    "DispatchError",
    "Dispatcher",
    "PayloadError",
    "dispatch_valid",
    "get_dispatcher_settings",
    "missing_dispatch_method",
    "resolve_raise_exception",
]

logger = logging.getLogger("restflow.dispatch")
_UNSET: Any = object()

FALLBACK_INLINE = "inline"
FALLBACK_RAISE = "raise"
_FALLBACKS = (FALLBACK_INLINE, FALLBACK_RAISE)


class DispatchError(RuntimeError):
    """A dispatcher could not hand a job off (and its fallback policy is ``raise``)."""

    def __init__(self, dispatcher_name: str, cause: BaseException) -> None:
        super().__init__(
            f"dispatcher {dispatcher_name!r} could not hand off the job: "
            f"{type(cause).__name__}: {cause}"
        )
        self.dispatcher_name = dispatcher_name


class PayloadError(TypeError):
    """The job is not made of JSON-native values (str, int, float, bool, None, list, dict)."""


def dispatcher_block(name: str) -> RestflowSettings:
    """The settings block of dispatcher ``name`` (``DISPATCHER_SETTINGS.<name>``)."""
    block: RestflowSettings = getattr(restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS, name)
    return block


def get_dispatcher_settings(name: str) -> dict[str, Any]:
    """The settings block of dispatcher ``name`` as a new dict: the defaults its class
    declares (``default_settings``) merged with the user's block, or the user's block
    as given for a name no installed dispatcher provides."""
    return dispatcher_block(name).to_dict()


def resolve_raise_exception(
    dispatcher_name: str | None, rule_flags: Iterable[bool | None] = ()
) -> bool:
    """Whether the worker entry re-raises an error, per restflow's resolution order.

    1. the rules' own ``raise_exception`` (explicit values only; ``True`` wins in a batch),
    2. the dispatcher block's ``RAISE_EXCEPTION`` when it is not ``None``,
    3. ``CACHE_SETTINGS.DISPATCHER_RAISE_EXCEPTION``.
    """
    explicit = [flag for flag in rule_flags if flag is not None]
    if explicit:
        return any(explicit)
    if dispatcher_name:
        block_value = dispatcher_block(dispatcher_name).get("RAISE_EXCEPTION")
        if block_value is not None:
            return bool(block_value)
    return bool(restflow_settings.CACHE_SETTINGS.DISPATCHER_RAISE_EXCEPTION)


def _check_json_native(value: Any, where: str) -> None:
    if isinstance(value, dict) and len(value) > 1:
        # The rules of one change share their kwargs objects: each is checked once.
        value = [dict.fromkeys(value), list({id(v): v for v in value.values()}.values())]
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadError(
            f"{where} must hold JSON-native values only (str, int, float, bool, None, "
            f"list, dict): {exc}. Convert UUIDs, dates and decimals to str first."
        ) from None


def missing_dispatch_method(cls: type[Dispatcher]) -> str | None:
    """Why ``cls`` cannot dispatch (it overrides neither :meth:`Dispatcher._dispatch`
    nor :meth:`Dispatcher.dispatch`), or ``None`` when it can."""
    if cls._dispatch is not Dispatcher._dispatch or cls.dispatch is not Dispatcher.dispatch:
        return None
    return (
        f"{cls.__module__}.{cls.__qualname__} implements neither _dispatch() nor dispatch(): "
        "implement _dispatch(self, *, rule_ids, rule_kwargs, **context) to hand the job off "
        "(restflow validates it and applies the fallback policy), or override "
        "dispatch(self, *, rule_ids, rule_kwargs, **context) to do everything yourself"
    )


class Dispatcher:
    """Base class of every dispatcher.

    Subclasses set :attr:`name` and implement one of two methods:

    * :meth:`_dispatch`, which hands a job off and raises if it could not. The public
      :meth:`dispatch` then validates the job, logs it, and applies the hand-off failure
      policy (option ``fallback``): ``"inline"`` (default) runs the job in the calling
      process through the worker entry and logs an error at most once a minute per
      dispatcher; ``"raise"`` raises :class:`DispatchError`.
    * :meth:`dispatch` itself, which then owns the whole hand-off (no validation, no
      fallback: an exception it raises reaches the code that saved).
    """

    name: ClassVar[str] = ""
    supports_batching: ClassVar[bool] = True
    #: This dispatcher's block of ``CACHE_SETTINGS["DISPATCHER_SETTINGS"]``: its keys
    #: and defaults (``RAISE_EXCEPTION: None`` is added to every block). A user's block
    #: overrides them key by key.
    default_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self, **config: Any) -> None:
        problem = missing_dispatch_method(type(self))
        if problem is not None:
            raise TypeError(problem)
        self.config: dict[str, Any] = dict(config)
        self.validate_config()

    def validate_config(self) -> None:
        """Reject bad per-rule configuration (raise); the default accepts everything."""
        fallback = self.config.get("fallback")
        if fallback is not None and fallback not in _FALLBACKS:
            raise ValueError(
                f"{type(self).__name__}: fallback must be one of {_FALLBACKS}, got {fallback!r}"
            )

    @classmethod
    def settings(cls) -> RestflowSettings:
        """This dispatcher's block of ``CACHE_SETTINGS['DISPATCHER_SETTINGS']``."""
        return dispatcher_block(cls.name)

    def option(self, key: str, default: Any = None) -> Any:
        """Per-rule ``config[key]``, else the settings block's ``KEY``, else ``default``.

        ``None`` counts as "not given" at both levels. Resolved once per key and kept
        on the instance until the dispatcher generation changes (``RESTFLOW_SETTINGS``,
        dispatcher or worker registrations).
        """
        kept = self.__dict__.get("_options")
        generation = _generation.current()
        if kept is None or kept[0] != generation:
            kept = self.__dict__["_options"] = (generation, {})
        values: dict[str, Any] = kept[1]
        value = values.get(key, _UNSET)
        if value is _UNSET:
            value = self.config.get(key.lower())
            if value is None:
                value = self.settings().get(key.upper())
            values[key] = value
        return default if value is None else value

    def worker_path(self) -> str:
        """Dotted path of the synchronous worker entry the job is run with: option
        ``function_path``, else the entry registered with :mod:`restflow.dispatch.worker`."""
        return str(self.option("function_path") or worker_path())

    def worker(self) -> Worker:
        """The synchronous worker function :meth:`worker_path` names: the registered
        entry, or option ``function_path`` imported once (again after a change of the
        dispatcher generation)."""
        path = self.option("function_path")
        if not path:
            return worker_entry()
        key = (_generation.current(), path)
        kept = self.__dict__.get("_imported")
        if kept is None or kept[0] != key:
            kept = self.__dict__["_imported"] = (key, import_dotted(str(path)))
        return cast(Worker, kept[1])

    def batch_key(self) -> tuple[Any, ...]:
        return (type(self), tuple(sorted(self.config.items())))

    def dispatch(
        self,
        *,
        rule_ids: list[str],
        rule_kwargs: dict[str, dict[str, Any]],
        **context: Any,
    ) -> None:
        """Hand one job off; never lose it silently (see the class docstring)."""
        if not isinstance(rule_ids, list | tuple) or not all(
            map(isinstance, rule_ids, itertools.repeat(str))
        ):
            raise PayloadError(f"rule_ids must be a list of str, got {rule_ids!r}")
        if not isinstance(rule_kwargs, dict):
            raise PayloadError(f"rule_kwargs must be a dict, got {type(rule_kwargs).__name__}")
        _check_json_native(rule_kwargs, "rule_kwargs")
        self.hand_off(list(rule_ids), rule_kwargs, context)

    def hand_off(
        self, rule_ids: list[str], rule_kwargs: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """:meth:`dispatch` after its validation of the job: :meth:`_dispatch`, then the
        fallback policy. For callers whose jobs are valid by construction (restflow-cache
        builds them from JSON-native kwargs); see :func:`dispatch_valid`."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("dispatching %s via %s", rule_ids, self.name)
        try:
            self._dispatch(rule_ids=rule_ids, rule_kwargs=rule_kwargs, **context)
        except WorkerError:
            raise  # the job ran here and failed; its error policy decided to raise
        except Exception as exc:
            if self.option("fallback", FALLBACK_INLINE) == FALLBACK_RAISE:
                raise DispatchError(self.name, exc) from exc
            run_fallback(
                self.name, rule_ids, rule_kwargs, exc, context, function_path=self.worker_path()
            )

    def _dispatch(
        self,
        *,
        rule_ids: list[str],
        rule_kwargs: dict[str, dict[str, Any]],
        **context: Any,
    ) -> None:
        """Hand the job off to where it runs; raise if that is impossible.

        Not abstract: a subclass may override :meth:`dispatch` instead (see the class
        docstring); one that overrides neither is refused when it is registered."""
        raise NotImplementedError(missing_dispatch_method(type(self)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} config={self.config!r}>"


def dispatch_valid(
    dispatcher: Dispatcher,
    rule_ids: list[str],
    rule_kwargs: dict[str, Any],
    context: dict[str, Any],
) -> None:
    """``dispatcher.dispatch(rule_ids=..., rule_kwargs=..., **context)`` for a job that is
    valid by construction (a list of ``str`` ids, JSON-native kwargs): the validation is
    skipped unless the dispatcher overrides :meth:`Dispatcher.dispatch` itself."""
    if type(dispatcher).dispatch is Dispatcher.dispatch:
        dispatcher.hand_off(rule_ids, rule_kwargs, context)
    else:
        dispatcher.dispatch(rule_ids=rule_ids, rule_kwargs=rule_kwargs, **context)
