"""No stale set under snapshot isolation (caching.md, Transactions).

A transaction whose snapshot was taken before an invalidation committed must not store
what it computes: the tokens it reads are already the new ones. The end-to-end tests run
on PostgreSQL (``DATABASE_URL``, ``tests-postgres``); the detection is also checked on
real SQLite connections and, for MySQL/MariaDB, on the attributes Django's backend sets.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cache_testapp.views import CALLS as VIEW_CALLS
from django.db import connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test import Client
from invalidation_helpers import reset_state
from invalidation_testapp.models import Author, Book

from restflow.caching import ArgsKeyField, InvalidationRule, _snapshot, cache_result
from restflow.caching.registry import CacheRegister

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"
)

TITLE_CALLS: list[int] = []


@pytest.fixture
def title_of() -> Iterator[Any]:
    """A cached function reading one book's title, invalidated by its saves."""
    reset_state()
    TITLE_CALLS.clear()

    def title_of(book_id: Any) -> str:
        TITLE_CALLS.append(book_id)
        return str(Book.objects.get(pk=book_id).title)

    wrapper = cache_result(
        {"fields": {"book": ArgsKeyField("book_id", partition=True)}},
        invalidates_on=[InvalidationRule(model=Book, field_mapping={"book_id": "pk"})],
    )(title_of)
    yield wrapper
    CacheRegister.unregister(wrapper)


@pytest.fixture
def book() -> Book:
    return Book.objects.create(author=Author.objects.create(name="Ann"), title="one")


def repeatable_read_connection() -> Any:
    """This thread's ``default`` connection, replaced by one whose ``OPTIONS`` ask for
    REPEATABLE READ (Django's documented way to choose the isolation level)."""
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict["OPTIONS"] = {
        **settings_dict.get("OPTIONS", {}),
        "isolation_level": IsolationLevel.REPEATABLE_READ,
    }
    conn = type(connections["default"])(settings_dict, "default")
    connections["default"] = conn
    return conn


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["OPTIONS", "SET TRANSACTION"])
def test_a_value_read_from_a_snapshot_older_than_an_invalidation_is_not_stored(
    title_of: Any, book: Book, how: str
) -> None:
    opened, committed = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def older_snapshot() -> None:  # T1
        if how == "OPTIONS":
            repeatable_read_connection()
        try:
            with transaction.atomic():
                if how == "SET TRANSACTION":
                    with connections["default"].cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                seen["before"] = Book.objects.get(pk=book.pk).title  # the snapshot
                opened.set()
                assert committed.wait(30)
                seen["computed"] = title_of(book.pk)  # a miss, after the invalidation
        except BaseException as exc:
            seen["error"] = exc
            opened.set()
        finally:
            connections["default"].close()

    thread = threading.Thread(target=older_snapshot)
    thread.start()
    assert opened.wait(30)
    book.title = "uno"
    book.save()  # T2: commits, then its rule bumps the book's scope
    committed.set()
    thread.join(30)
    assert "error" not in seen, seen.get("error")
    # T1 computed from its snapshot: the old title, returned to its caller...
    assert seen == {"before": "one", "computed": "one"}
    # ...but not stored: the next read computes the committed title.
    assert title_of(book.pk) == "uno"
    assert title_of.get_cache_only(book.pk) == "uno"
    assert [book.pk, book.pk] == TITLE_CALLS


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_cached_response_computed_in_a_repeatable_read_transaction_is_not_stored() -> None:
    VIEW_CALLS.clear()
    client = Client()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        Book.objects.count()  # the snapshot is taken
        assert client.get("/cache_testapp/books/5/").json()["n"] == 1
        assert client.get("/cache_testapp/books/5/").json()["n"] == 2  # not stored
    assert client.get("/cache_testapp/books/5/").json()["n"] == 3
    assert client.get("/cache_testapp/books/5/").json()["n"] == 3  # stored outside it
    VIEW_CALLS.clear()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_repeatable_read_transaction_without_a_query_yet_still_stores(
    title_of: Any, book: Book
) -> None:
    """The tokens are read before the transaction's first query takes its snapshot."""
    seen: dict[str, Any] = {}

    def first_query_is_the_cached_one() -> None:
        repeatable_read_connection()
        try:
            with transaction.atomic():
                seen["computed"] = title_of(book.pk)
        except BaseException as exc:
            seen["error"] = exc
        finally:
            connections["default"].close()

    thread = threading.Thread(target=first_query_is_the_cached_one)
    thread.start()
    thread.join(30)
    assert seen == {"computed": "one"}
    assert title_of.get_cache_only(book.pk) == "one"


@pytest.mark.django_db(transaction=True)
def test_read_committed_transactions_still_store(title_of: Any, book: Book) -> None:
    """SQLite with its rollback journal, PostgreSQL at its default level."""
    before = sum(_snapshot.refusals.values())
    with transaction.atomic():
        Book.objects.count()
        assert title_of(book.pk) == "one"
    assert title_of.get_cache_only(book.pk) == "one"
    assert sum(_snapshot.refusals.values()) == before


# -- detection, per vendor --------------------------------------------------------------
@pytest.fixture
def sqlite_file(tmp_path: Path, django_db_blocker: Any) -> Iterator[SQLiteWrapper]:
    """A Django SQLite connection of its own, on a file (not a test database)."""
    django_db_blocker.unblock()
    conn = SQLiteWrapper(
        {**copy.deepcopy(connections["default"].settings_dict), "ENGINE":
         "django.db.backends.sqlite3", "NAME": str(tmp_path / "wal.sqlite3"), "OPTIONS": {}},
        "snapshot-test",
    )
    try:
        conn.ensure_connection()
        yield conn
        conn.close()
    finally:
        django_db_blocker.restore()


@pytest.mark.parametrize(("journal", "expected"), [("wal", True), ("delete", False)])
def test_sqlite_reads_from_a_snapshot_in_wal_mode_only(
    sqlite_file: SQLiteWrapper, journal: str, expected: bool
) -> None:
    with sqlite_file.cursor() as cursor:
        cursor.execute(f"PRAGMA journal_mode={journal}")
        cursor.execute("CREATE TABLE t (x integer)")
    # What atomic() does on SQLite: BEGIN, with the driver left in autocommit mode.
    sqlite_file.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    with sqlite_file.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
    assert _snapshot.holds_snapshot(sqlite_file) is expected
    sqlite_file.rollback()
    sqlite_file.set_autocommit(True)
    assert _snapshot.holds_snapshot(sqlite_file) is False  # no transaction


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("repeatable read", True),
        (None, True),  # OPTIONS {"isolation_level": None}: the server's REPEATABLE READ
        ("read committed", False),  # what Django sets by default
        ("read uncommitted", False),
        ("serializable", False),  # InnoDB: plain reads lock the latest committed rows
    ],
)
def test_mysql_and_mariadb_levels(level: str | None, expected: bool) -> None:
    """Django's MySQL backend (MariaDB included) keeps the level it set as a lower-case
    string in ``isolation_level``; no MySQL/MariaDB server runs this test."""
    conn = SimpleNamespace(vendor="mysql", connection=object(), isolation_level=level)
    assert _snapshot.holds_snapshot(conn) is expected
