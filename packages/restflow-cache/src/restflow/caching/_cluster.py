"""Cluster clients (redis-py's ``RedisCluster``, valkey-py's ``ValkeyCluster``): how
restflow recognises one, and its reads and writes grouped per hash slot.

The Redis fast paths of ``_redis`` (one packed MGET per hit, one Lua script per bump) send
keys of many slots in one command: a cluster refuses that (``CROSSSLOT``). Whether a
backend is clustered is decided on the **client object** it hands out, not on the
backend class: a django-redis ``CONNECTION_FACTORY`` may return a ``RedisCluster`` from
the stock ``DefaultClient``. A cluster client reads with ``mget_nonatomic`` (one MGET per
slot, the slots of one node in one pipeline), or, when every key shares one hash tag
(``CLUSTER_HASH_TAGS``), with one MGET on the plain client of the slot's primary. It
writes one ``SET`` per key with its expiry, pipelined per node (never ``MSET``, which
carries no expiry).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from restflow.caching import _replication

__all__ = [
    "IncompleteWrite",
    "cluster_wrapper",
    "is_cluster_client",
    "mget",
    "set_all",
    "slot_client",
]

_CLUSTER_CLASSES = (
    ("redis.cluster", "RedisCluster"),
    ("valkey.cluster", "ValkeyCluster"),
    ("redis.asyncio.cluster", "RedisCluster"),
    ("valkey.asyncio.cluster", "ValkeyCluster"),
)


# The answer per client class (a hit asks up to three times; some of these classes make
# ``isinstance`` slow).
_kinds: dict[type, bool] = {}


def is_cluster_client(client: Any) -> bool:
    """Whether ``client`` is (a subclass of) a cluster client of redis-py or valkey-py.

    Only modules already imported are looked at: a client of a library nobody imported
    cannot exist."""
    known = _kinds.get(type(client))
    if known is not None:
        return known
    found = False
    for module_name, name in _CLUSTER_CLASSES:
        module = sys.modules.get(module_name)
        kind = getattr(module, name, None) if module is not None else None
        if kind is not None and isinstance(client, kind):
            found = True
            break
    if len(_kinds) < 256:
        _kinds[type(client)] = found
    return found


def cluster_wrapper(cache: Any, write: bool) -> tuple[Any, Any] | None:
    """``(client wrapper, cluster client)`` of a django-redis-style backend (django-redis,
    django-valkey and its cluster cache: ``cache.client`` with ``make_key``, ``encode``,
    ``decode`` and ``get_client``) whose client is a cluster client; else ``None``."""
    wrapper = getattr(type(cache), "client", None) and getattr(cache, "client", None)
    get_client = getattr(wrapper, "get_client", None)
    if get_client is None or not all(
        callable(getattr(wrapper, name, None)) for name in ("make_key", "encode", "decode")
    ):
        return None
    client = get_client(write=write)
    return (wrapper, client) if is_cluster_client(client) else None


def mget(client: Any, made: list[Any]) -> list[Any]:
    """The values of ``made`` (``None`` when absent) in order: one MGET per slot."""
    return list(client.mget_nonatomic(made)) if made else []


def _hash_tag(key: Any) -> Any:
    """What Redis Cluster hashes of ``key``: the text of its first non-empty ``{…}``,
    or ``None`` when it has none (then the whole key)."""
    start = key.find(b"{" if type(key) is bytes else "{")
    if start < 0:
        return None
    end = key.find(b"}" if type(key) is bytes else "}", start + 1)
    return key[start + 1 : end] if end > start + 1 else None


_slots: dict[Any, int] = {}
_SLOTS_LIMIT = 4096


def slot_client(client: Any, made: list[Any]) -> Any:
    """The plain client of the primary serving every key of ``made`` when they share one
    hash tag (``CLUSTER_HASH_TAGS``): one MGET on it is the whole read. ``None`` when the
    keys span several slots or the slot's node is not known yet."""
    tag = _hash_tag(made[0])
    if tag is None:
        return None
    for key in made[1:]:
        if _hash_tag(key) != tag:
            return None
    slot = _slots.get(tag)
    if slot is None:
        if len(_slots) >= _SLOTS_LIMIT:
            _slots.clear()
        slot = _slots[tag] = client.keyslot(made[0])
    nodes = client.nodes_manager.slots_cache.get(slot)
    if not nodes:
        return None
    primary = nodes[0]  # redis-py names its client redis_connection, valkey-py valkey_connection
    return getattr(primary, "redis_connection", None) or getattr(primary, "valkey_connection", None)


class IncompleteWrite(Exception):
    """A write that stored only part of its keys: a cluster node refused some, or a
    memcached pool's ``set_many`` returned the keys it could not store."""


def set_all(client: Any, keys: list[Any], args: list[Any], acknowledged: bool = False) -> None:
    """Write ``keys`` as ``_redis``'s script would (``args``: unit ``"EX"``/``"PX"``/``""``,
    expiry, then one encoded value per key): one ``SET`` with its expiry per key, in one
    cluster pipeline (a round trip per node). Raises the first error of any node.
    ``acknowledged`` (a scope bump): under ``CLUSTER_WAIT_REPLICAS``, each master's writes
    are followed by ``WAIT`` (``_replication``)."""
    unit, expiry, values = args[0], args[1], args[2:]
    option = {"EX": "ex", "PX": "px"}.get(unit)
    if acknowledged and _replication.wanted():
        _set_all_acknowledged(client, keys, values, option, expiry)
        return
    pipe = client.pipeline()
    for key, value in zip(keys, values, strict=True):
        if option is None:
            pipe.set(key, value)
        else:
            pipe.set(key, value, **{option: expiry})
    results = pipe.execute()
    failed = [key for key, ok in zip(keys, results, strict=True) if not ok]
    if failed:
        raise IncompleteWrite(f"{len(failed)} of {len(keys)} keys not written: {failed[:5]!r}")


def _set_all_acknowledged(
    client: Any, keys: list[Any], values: list[Any], option: str | None, expiry: Any
) -> None:
    """``set_all`` under ``CLUSTER_WAIT_REPLICAS``: per master the bump touches, its
    ``SET``s and ``WAIT`` in one pipeline on the master's own client (one connection:
    ``WAIT`` counts that connection's writes). A master answering ``MOVED`` or not at all
    makes the cluster client reload the slot map, then the error propagates (the bump is
    retried or held)."""
    per_node: dict[str, tuple[Any, list[tuple[Any, Any]]]] = {}
    for key, value in zip(keys, values, strict=True):
        node = client.get_node_from_key(key)
        per_node.setdefault(node.name, (node, []))[1].append((key, value))
    need, timeout = _replication.wanted(), _replication.timeout_ms()
    try:
        for name, (node, pairs) in per_node.items():
            plain: Any = getattr(node, "redis_connection", None) or getattr(
                node, "valkey_connection", None
            )
            pipe = plain.pipeline(transaction=False)
            for key, value in pairs:
                if option is None:
                    pipe.set(key, value)
                else:
                    pipe.set(key, value, **{option: expiry})
            pipe.execute_command("WAIT", need, timeout)
            results = pipe.execute()
            if not all(results[:-1]):
                raise IncompleteWrite(f"{name}: {len(pairs)} keys not all written")
            _replication.check_acks(results[-1], name)
    except _replication.ReplicasNotAcknowledged:
        raise
    except Exception:
        with contextlib.suppress(Exception):  # the cluster is down: the error says so
            client.nodes_manager.initialize()
        raise
