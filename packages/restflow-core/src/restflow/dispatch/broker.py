"""``BrokerDispatcher``: what the four broker plugins share.

A broker dispatcher needs a library that may be missing (:meth:`require`) and
publishes with a bounded wait (:meth:`publish_timeout`), so that a broker that is
down or hangs fails the hand-off quickly instead of holding the ``save()`` that
produced the job. Option ``publish_timeout`` / ``PUBLISH_TIMEOUT`` has one meaning in
every plugin: seconds (default 2) one publish may take; ``0`` publishes through the
library's connection exactly as the project configured it (no bound of restflow's).
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

from restflow.dispatch.base import Dispatcher

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "BrokerDispatcher", "check_publish_timeout"]

#: Seconds a publish may take (connect, then send) before the job runs inline instead.
DEFAULT_PUBLISH_TIMEOUT = 2.0


def check_publish_timeout(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is ``None`` or a number of seconds >= 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"publish_timeout must be a number of seconds >= 0, got {value!r}")


class BrokerDispatcher(Dispatcher):
    """Base class of a dispatcher that hands jobs to a broker library.

    Subclasses set :attr:`requires` and declare ``PUBLISH_TIMEOUT`` in
    ``default_settings``.
    """

    #: ``(import name, pip name, restflow-cache extra, plugin distribution)`` of the
    #: library, for :meth:`require` and its message.
    requires: ClassVar[tuple[str, str, str, str]] = ("", "", "", "")

    def validate_config(self) -> None:
        super().validate_config()
        self.require()
        check_publish_timeout(self.config.get("publish_timeout"))

    @classmethod
    def require(cls) -> None:
        """Raise an ``ImportError`` that says what to install when the library is missing."""
        library, requirement, extra, distribution = cls.requires
        try:
            importlib.import_module(library)
        except ImportError as exc:
            raise ImportError(
                f"{requirement} is required by the {cls.name!r} dispatcher: "
                f'pip install "restflow-cache[{extra}]" (or {distribution})'
            ) from exc

    def routed_batch_key(self, *destination: Any, routing: tuple[str, ...]) -> tuple[Any, ...]:
        """A batch key of the class and ``destination`` (the values of the ``routing``
        options); every other option given per rule joins it, so that rules with
        different policies (``fallback``, ``publish_timeout``...) are not merged."""
        key: tuple[Any, ...] = (type(self), *destination)
        extra = sorted((name, value) for name, value in self.config.items() if name not in routing)
        return (*key, tuple(extra)) if extra else key

    def publish_timeout(self) -> float | None:
        """Seconds one publish may take, or ``None`` (``0``) for the library's own settings."""
        value = self.option("publish_timeout", DEFAULT_PUBLISH_TIMEOUT)
        check_publish_timeout(value)
        return float(value) if value else None
