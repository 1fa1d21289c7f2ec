"""The dispatcher generation: a number that changes whenever something resolved once
from the dispatchers' configuration may be stale.

It moves on a change of ``RESTFLOW_SETTINGS`` (``setting_changed``), a dispatcher
registration or unregistration, a forced entry-point reload and a worker-entry
registration. Whoever keeps something derived from them (a dispatcher instance, its
options, an imported worker function) keeps the number next to it and resolves again
when it differs.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed

from restflow.settings import SETTING_NAME

_lock = threading.Lock()
_value = 0


def current() -> int:
    """The current generation."""
    return _value


def bump() -> None:
    """Mark everything kept under an earlier generation as stale."""
    global _value
    with _lock:
        _value += 1


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        bump()


setting_changed.connect(_on_setting_changed, dispatch_uid="restflow.dispatch.generation")
