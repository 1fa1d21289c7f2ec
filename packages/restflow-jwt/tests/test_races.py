"""Atomic rotation: N concurrent refreshes with one token give exactly one success."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from jwt_testapp.race import race
from jwt_testapp.race import run_in_processes as run_workers
from jwt_testapp.support import SECRET
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.worker_process import wait_until

from restflow.authentication import RefreshToken, TokenBlacklist

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "restflow.authentication.jwt.ModelBlacklistBackend"
N = 50


def assert_exactly_one_success(statuses: list[int]) -> None:
    assert len(statuses) == N
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == N - 1, statuses


@pytest.fixture
def cache_backend(settings: Any, redis_url: str) -> dict[str, Any]:
    config = {
        "CACHES": {"default": redis_cache_settings(redis_url)},
        "RESTFLOW_SETTINGS": {"JWT": {"SIGNING_KEY": SECRET}},
    }
    for name, value in config.items():
        setattr(settings, name, value)
    return config


@pytest.fixture
def model_backend(settings: Any) -> dict[str, Any]:
    config = {
        "RESTFLOW_SETTINGS": {
            "JWT": {"SIGNING_KEY": SECRET, "BLACKLIST_BACKEND": MODEL, "BLACKLIST_ALLOW_LOCMEM": True}
        }
    }
    settings.RESTFLOW_SETTINGS = config["RESTFLOW_SETTINGS"]
    return config


def run_in_processes(config: dict[str, Any], refresh: str, tmp_path: Path, processes: int = 2) -> list[int]:
    return run_workers(config, refresh, tmp_path, processes=processes, total=N)[0]


@pytest.mark.redis
def test_cache_backend_threads(user: Any, cache_backend: Any) -> None:
    refresh = RefreshToken.for_user(user)
    assert_exactly_one_success(race(str(refresh), N))
    assert TokenBlacklist.is_blacklisted(refresh.jti)


@pytest.mark.redis
@pytest.mark.slow
def test_cache_backend_two_processes(user: Any, cache_backend: Any, tmp_path: Path) -> None:
    refresh = RefreshToken.for_user(user)
    assert_exactly_one_success(run_in_processes(cache_backend, str(refresh), tmp_path))


def test_model_backend_threads(user: Any, model_backend: Any) -> None:
    refresh = RefreshToken.for_user(user)
    assert_exactly_one_success(race(str(refresh), N))
    assert TokenBlacklist.is_blacklisted(refresh.jti)


@pytest.mark.slow
def test_model_backend_two_processes(user: Any, model_backend: Any, tmp_path: Path) -> None:
    refresh = RefreshToken.for_user(user)
    assert_exactly_one_success(run_in_processes(model_backend, str(refresh), tmp_path))


@pytest.mark.postgres
@pytest.mark.slow
def test_model_backend_on_postgresql_five_processes(user: Any, model_backend: Any, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://... (the CI runs a PostgreSQL session)")
    refresh = RefreshToken.for_user(user)
    assert_exactly_one_success(run_in_processes(model_backend, str(refresh), tmp_path, processes=5))


def _writers_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
def test_family_record_written_at_repeatable_read_while_another_racer_commits_it(
    model_backend: Any,
) -> None:
    """Two racers revoke one family: the second, at REPEATABLE READ, waits on the first's
    uncommitted record; when it commits, PostgreSQL fails the second's upsert (the row is
    newer than its snapshot) and the backend writes again instead of answering 503."""
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL=postgres://... (the CI runs a PostgreSQL session)")
    sid = "two-racers-one-family"
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                TokenBlacklist.revoke_family(sid)
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    def second() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"
                )
            TokenBlacklist.revoke_family(sid)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert inserted.wait(30)
    racer = threading.Thread(target=second)
    racer.start()
    try:
        assert wait_until(lambda: _writers_waiting_on_a_lock() == 1), "the racer never waited"
    finally:
        release.set()
        holder.join(30)
        racer.join(30)
    assert errors == []
    assert TokenBlacklist.is_blacklisted("", sid)
