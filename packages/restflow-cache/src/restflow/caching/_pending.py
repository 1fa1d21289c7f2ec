"""One job per dispatcher per commit, without losing savepoint semantics.

Every change registers its own ``transaction.on_commit`` callback, so Django itself
discards the work of a rolled-back savepoint or transaction. Each thread also keeps, per
database alias, *weak* references to the batches waiting for that alias's commit. The
first callback that runs after the commit takes every batch still alive -- those Django
did not discard -- and runs them together: rules are merged per rule id and dispatched
once per dispatcher. The later callbacks find their batch done.

A discarded batch is only referenced by the callback list Django dropped, so CPython
frees it at once. On runtimes without reference counting it may survive until the next
garbage collection and be run: an extra invalidation, never a stale entry.
"""

from __future__ import annotations

import threading
import weakref

from django.db import transaction

from restflow.caching._commit import CommitBatch

_PRUNE_AT = 64


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, bool], list[weakref.ref[CommitBatch]]] = {}


_buffers = _Buffers()


def schedule(batch: CommitBatch, using: str, robust: bool) -> None:
    """Run ``batch`` after the commit of ``using`` (at once in autocommit mode)."""
    batch.key = (using, robust)
    refs = _buffers.by_key.setdefault(batch.key, [])
    if len(refs) >= _PRUNE_AT:
        refs[:] = [ref for ref in refs if ref() is not None]
    refs.append(weakref.ref(batch))
    transaction.on_commit(batch.commit, using=using, robust=robust)


def flush(batch: CommitBatch) -> None:
    if batch.done:
        return
    refs = _buffers.by_key.pop(batch.key, [])
    batches = [b for ref in refs if (b := ref()) is not None and not b.done]
    if not any(b is batch for b in batches):
        batches.append(batch)
    for pending in batches:
        pending.done = True
    CommitBatch([work for pending in batches for work in pending.works]).run()
