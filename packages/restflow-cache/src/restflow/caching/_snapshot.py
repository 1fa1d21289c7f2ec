"""Is a database snapshot older than the scope tokens just read? (docs/caching.md,
Transactions and isolation levels)

A miss reads its scope tokens, computes, and stores the value stamped with them: an
invalidation committed in between replaces a token and the stored value is never served.
That holds when every query of the computation sees data committed before it runs (READ
COMMITTED: each statement takes a fresh snapshot). Inside a transaction whose snapshot
was taken at its first query (PostgreSQL REPEATABLE READ and SERIALIZABLE, MySQL/MariaDB
REPEATABLE READ, SQLite in WAL mode), the computation may read data older than an
invalidation that committed *before* the tokens were read, and the stale value would be
stamped with the new tokens. restflow cannot read the tokens as of that snapshot, so such
values are computed and returned but not stored.

The check runs on misses only, before the function is called: it looks at the
connections this thread has opened (no query unless one of them is inside a transaction).
They are remembered per thread as they open (``connection_created``), because walking
``django.db.connections`` costs several microseconds per alias on every miss.
"""

from __future__ import annotations

import collections
import threading
import weakref
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

__all__ = ["refusals", "snapshot_database"]

#: Values not stored, per database alias (a process-wide count, for tests and debugging).
refusals: collections.Counter[str] = collections.Counter()

# TransactionStatus (psycopg 3) and TRANSACTION_STATUS_* (psycopg2) share these values.
_PG_IDLE = 0
_PG_INERROR = 3
_PG_SNAPSHOT_LEVELS = frozenset({"REPEATABLE_READ", "SERIALIZABLE"})
_PG_SNAPSHOT_NAMES = frozenset({"repeatable read", "serializable"})
# Django sets the session level of every MySQL/MariaDB connection it opens ("read
# committed" unless OPTIONS["isolation_level"] says otherwise); a false value leaves the
# server default, REPEATABLE READ. SERIALIZABLE turns InnoDB's plain reads into locking
# reads of the latest committed rows: no old snapshot.
_MYSQL_SNAPSHOT_LEVELS = frozenset({"repeatable read", "", None})
# Statement-level read consistency by default.
_PER_STATEMENT_VENDORS = frozenset({"oracle"})


_local = threading.local()


def _thread_connections() -> list[weakref.ref[Any]]:
    """The database connections this thread has opened (seeded with those it had)."""
    known: list[weakref.ref[Any]] | None = getattr(_local, "connections", None)
    if known is None:
        known = _local.connections = [
            weakref.ref(conn) for conn in connections.all(initialized_only=True)
        ]
    return known


def _opened(sender: Any, connection: Any, **kwargs: Any) -> None:
    known = _thread_connections()
    if not any(ref() is connection for ref in known):
        known[:] = [ref for ref in known if ref() is not None]
        known.append(weakref.ref(connection))


connection_created.connect(_opened, dispatch_uid="restflow.caching.snapshot")


def snapshot_database() -> str | None:
    """The alias of a connection of this thread inside a transaction whose snapshot may
    already be taken and does not follow commits (``None`` when there is none)."""
    for ref in _thread_connections():
        conn = ref()
        if conn is None or conn.connection is None or conn.autocommit:
            continue
        if holds_snapshot(conn):
            refusals[conn.alias] += 1
            return str(conn.alias)
    return None


def holds_snapshot(conn: Any) -> bool:
    """Whether ``conn`` (connected, not in autocommit) may read from an old snapshot."""
    vendor = conn.vendor
    raw = conn.connection
    if vendor == "postgresql":
        status = raw.info.transaction_status
        if status == _PG_IDLE:
            return False  # no statement yet: the snapshot will follow the tokens
        if status == _PG_INERROR:
            return True  # the transaction is failed; nothing it computed is stored
        level = getattr(getattr(conn, "isolation_level", None), "name", None)
        if level in _PG_SNAPSHOT_LEVELS:
            return True
        current = _pg_level(raw)
        return current is None or current in _PG_SNAPSHOT_NAMES
    if vendor == "mysql":
        return getattr(conn, "isolation_level", None) in _MYSQL_SNAPSHOT_LEVELS
    if vendor == "sqlite":
        return bool(raw.in_transaction) and _sqlite_journal_mode(raw) == "wal"
    return vendor not in _PER_STATEMENT_VENDORS  # another backend: assume a snapshot


def _pg_level(raw: Any) -> str | None:
    """The level of the open transaction (``SET TRANSACTION``, a role's or database's
    ``default_transaction_isolation``), read on the driver's connection so that it is
    not counted as one of the application's queries; ``None`` if it cannot be read."""
    try:
        with raw.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            row = cursor.fetchone()
    except Exception:
        return None
    return str(row[0]) if row else None


def _sqlite_journal_mode(raw: Any) -> str:
    row = raw.execute("PRAGMA journal_mode").fetchone()
    return str(row[0]).lower() if row else ""
