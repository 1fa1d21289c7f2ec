"""The :class:`Dispatcher` base class and the helpers every dispatcher shares.

A dispatcher moves a JSON job (rule ids + keyword arguments per rule) to the place where
it runs: the calling thread, a thread pool, the event loop, or a broker's worker. The
job itself is always executed by the worker entry of restflow-cache
(``restflow.caching.tasks.run_cache_rules``); core never imports it at import time.
"""

from __future__ import annotations

import abc
import importlib
import json
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from django.core.signals import setting_changed

from restflow.log import log_throttled
from restflow.settings import DEFAULTS, SETTING_NAME, restflow_settings

__all__ = [
    "ASYNC_WORKER_FUNCTION_PATH",
    "DEFAULT_FUNCTION_PATH",
    "FALLBACK_INLINE",
    "FALLBACK_RAISE",
    "WORKER_FUNCTION_PATH",
    "DispatchError",
    "Dispatcher",
    "PayloadError",
    "get_dispatcher_settings",
    "import_dotted",
    "resolve_raise_exception",
    "run_worker",
]

logger = logging.getLogger("restflow.dispatch")

WORKER_FUNCTION_PATH = "restflow.caching.tasks.run_cache_rules"
ASYNC_WORKER_FUNCTION_PATH = "restflow.caching.tasks.arun_cache_rules"
DEFAULT_FUNCTION_PATH = WORKER_FUNCTION_PATH

FALLBACK_INLINE = "inline"
FALLBACK_RAISE = "raise"
_FALLBACKS = (FALLBACK_INLINE, FALLBACK_RAISE)

#: Seconds between two log records about the same dispatcher failing to hand off.
FALLBACK_LOG_INTERVAL = 60.0

# Attribute set on an exception raised by the worker entry itself (not by the hand-off),
# so that dispatch() re-raises it unchanged instead of running the job a second time.
_WORKER_ERROR_FLAG = "_restflow_worker_error"


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


# Resolved blocks, read on every dispatch; dropped when RESTFLOW_SETTINGS changes.
_blocks: dict[str, dict[str, Any]] = {}


def _forget_blocks(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        _blocks.clear()


setting_changed.connect(_forget_blocks, dispatch_uid="restflow.dispatch.base.blocks")


def get_dispatcher_settings(name: str) -> dict[str, Any]:
    """The settings block of dispatcher ``name``: defaults merged with the user's block.

    A name without a default block gets the user's block as given, or ``{}``. The
    block is resolved once per settings change; each call returns its own copy.
    """
    block = _blocks.get(name)
    if block is None:
        blocks = restflow_settings.CACHE_SETTINGS.DISPATCHER_SETTINGS
        if name in DEFAULTS["CACHE_SETTINGS"]["DISPATCHER_SETTINGS"]:
            block = getattr(blocks, name).to_dict()
        else:
            user = blocks.user_settings.get(name)
            block = dict(user) if isinstance(user, dict) else {}
        _blocks[name] = block
    return dict(block)


def import_dotted(path: str) -> Any:
    """Import ``"package.module.attr"`` and return ``attr``."""
    module_path, _, attr = path.rpartition(".")
    if not module_path or not attr:
        raise ImportError(f"Invalid dotted path {path!r}: expected 'package.module.attribute'")
    module = importlib.import_module(module_path)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_path!r} has no attribute {attr!r}") from None


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
        block_value = get_dispatcher_settings(dispatcher_name).get("RAISE_EXCEPTION")
        if block_value is not None:
            return bool(block_value)
    return bool(restflow_settings.CACHE_SETTINGS.DISPATCHER_RAISE_EXCEPTION)


def run_worker(
    rule_ids: list[str],
    rule_kwargs: dict[str, dict[str, Any]],
    *,
    dispatcher_name: str | None,
    context: dict[str, Any] | None = None,
    function_path: str | None = None,
) -> None:
    """Run a job in this process through the synchronous worker entry.

    An exception from the worker is marked so that :meth:`Dispatcher.dispatch` passes it
    through unchanged rather than treating it as a failed hand-off.
    """
    worker = import_dotted(function_path or WORKER_FUNCTION_PATH)
    kwargs: dict[str, Any] = {"dispatcher_name": dispatcher_name}
    if context:
        kwargs["context"] = context
    try:
        worker(rule_ids, rule_kwargs, **kwargs)
    except Exception as exc:
        setattr(exc, _WORKER_ERROR_FLAG, True)
        raise


def _check_json_native(value: Any, where: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadError(
            f"{where} must hold JSON-native values only (str, int, float, bool, None, "
            f"list, dict): {exc}. Convert UUIDs, dates and decimals to str first."
        ) from None


class Dispatcher(abc.ABC):
    """Base class of every dispatcher.

    Subclasses set :attr:`name` and implement :meth:`_dispatch`, which hands a job off
    and raises if it could not. The public :meth:`dispatch` validates the job, logs it,
    and applies the hand-off failure policy (option ``fallback``): ``"inline"`` (default)
    runs the job in the calling process through the worker entry and logs an error at
    most once a minute per dispatcher; ``"raise"`` raises :class:`DispatchError`.
    """

    name: ClassVar[str] = ""
    supports_batching: ClassVar[bool] = True

    def __init__(self, **config: Any) -> None:
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
    def settings(cls) -> dict[str, Any]:
        """This dispatcher's block of ``CACHE_SETTINGS['DISPATCHER_SETTINGS']``."""
        return get_dispatcher_settings(cls.name)

    def option(self, key: str, default: Any = None) -> Any:
        """Per-rule ``config[key]``, else the settings block's ``KEY``, else ``default``.

        ``None`` counts as "not given" at both levels.
        """
        value = self.config.get(key.lower())
        if value is None:
            value = self.settings().get(key.upper())
        return default if value is None else value

    def worker_path(self) -> str:
        """Dotted path of the synchronous worker entry the job is run with."""
        return str(self.option("function_path", WORKER_FUNCTION_PATH))

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
            isinstance(rule_id, str) for rule_id in rule_ids
        ):
            raise PayloadError(f"rule_ids must be a list of str, got {rule_ids!r}")
        if not isinstance(rule_kwargs, dict):
            raise PayloadError(f"rule_kwargs must be a dict, got {type(rule_kwargs).__name__}")
        _check_json_native(rule_kwargs, "rule_kwargs")
        rule_ids = list(rule_ids)
        logger.debug("dispatching %s via %s", rule_ids, self.name)
        try:
            self._dispatch(rule_ids=rule_ids, rule_kwargs=rule_kwargs, **context)
        except Exception as exc:
            if getattr(exc, _WORKER_ERROR_FLAG, False):
                raise  # the job ran here and failed; its error policy decided to raise
            self._handle_failure(exc, rule_ids, rule_kwargs, context)

    @abc.abstractmethod
    def _dispatch(
        self,
        *,
        rule_ids: list[str],
        rule_kwargs: dict[str, dict[str, Any]],
        **context: Any,
    ) -> None:
        """Hand the job off to where it runs; raise if that is impossible."""

    def _handle_failure(
        self,
        exc: Exception,
        rule_ids: list[str],
        rule_kwargs: dict[str, dict[str, Any]],
        context: dict[str, Any],
    ) -> None:
        if self.option("fallback", FALLBACK_INLINE) == FALLBACK_RAISE:
            raise DispatchError(self.name, exc) from exc
        log_throttled(
            logger,
            f"fallback:{self.name}",
            "dispatcher %r could not hand off rules %s (%s: %s); running them inline "
            "in this process instead (logged once per %d s while it lasts)",
            self.name,
            rule_ids,
            type(exc).__name__,
            exc,
            int(FALLBACK_LOG_INTERVAL),
            level=logging.ERROR,
            interval=FALLBACK_LOG_INTERVAL,
            exc_info=exc,
        )
        fallback_context: dict[str, Any] = {
            key: context[key] for key in ("model_label", "pk") if key in context
        }
        fallback_context["fallback"] = FALLBACK_INLINE
        run_worker(
            rule_ids,
            rule_kwargs,
            dispatcher_name=self.name,
            context=fallback_context,
            function_path=self.worker_path(),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} config={self.config!r}>"
