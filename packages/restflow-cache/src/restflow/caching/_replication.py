"""Replication acknowledgement of scope bumps (``CACHE_SETTINGS.CLUSTER_WAIT_REPLICAS``,
docs/caching.md, Replication acknowledgement).

With ``N > 0`` a bump written on Redis (Django's ``RedisCache``, django-redis) or a Redis
Cluster (django-redis with a ``RedisCluster`` client, django-valkey's cluster cache) is
followed by ``WAIT N <CLUSTER_WAIT_TIMEOUT_MS>`` on the connection that wrote it (on a
cluster: on each master the bump touched). Fewer than ``N`` acknowledgements raise
:class:`ReplicasNotAcknowledged`: the bump counts as failed, so it is retried and then
held for replay (:mod:`~restflow.caching.outbox`). Other backends ignore the setting
(system check ``restflow_caching.W006``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["ReplicasNotAcknowledged", "check_acks", "timeout_ms", "wanted"]

_values: list[tuple[int, int]] = []


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "RESTFLOW_SETTINGS":
        _values.clear()


def _setting(name: str, value: Any, minimum: int, meaning: str) -> int:
    if type(value) is not int or value < minimum:
        raise ImproperlyConfigured(
            f"RESTFLOW_SETTINGS['CACHE_SETTINGS']['{name}'] must be an int >= {minimum} "
            f"({meaning}), got {value!r}"
        )
    return value


def _load() -> tuple[int, int]:
    if not _values:
        from restflow.settings import restflow_settings

        block = restflow_settings.CACHE_SETTINGS
        replicas = _setting(
            "CLUSTER_WAIT_REPLICAS", block.CLUSTER_WAIT_REPLICAS, 0,
            "0: no WAIT; N: each bump waits for N replicas of every master it wrote",
        )
        timeout = _setting(
            "CLUSTER_WAIT_TIMEOUT_MS", block.CLUSTER_WAIT_TIMEOUT_MS, 1,
            "milliseconds a bump waits for its replicas; WAIT 0 would block forever",
        )
        _values.append((replicas, timeout))
    return _values[0]


def wanted() -> int:
    """``CLUSTER_WAIT_REPLICAS`` (``0``: no WAIT), validated once."""
    return _load()[0]


def timeout_ms() -> int:
    """``CLUSTER_WAIT_TIMEOUT_MS``, validated once."""
    return _load()[1]


class ReplicasNotAcknowledged(Exception):
    """A bump its master wrote but fewer than ``CLUSTER_WAIT_REPLICAS`` replicas
    acknowledged within ``CLUSTER_WAIT_TIMEOUT_MS``: it counts as failed."""


def check_acks(acks: Any, where: str) -> None:
    """Raise :class:`ReplicasNotAcknowledged` when ``acks`` (WAIT's answer) is short."""
    need = wanted()
    if int(acks) < need:
        raise ReplicasNotAcknowledged(
            f"bump on {where}: {int(acks)} of {need} replica(s) acknowledged within "
            f"{timeout_ms()} ms (CLUSTER_WAIT_REPLICAS)"
        )
