"""The soak run's correctness checks judge recorded data the way the report says."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "soak"))

import soak_checks
from soak_checks import Read, RefreshAttempt, ServerError, Write

WRITES = [Write("book:1", 2, committed=10.0), Write("book:1", 3, committed=20.0)]


def test_a_read_older_than_a_commit_beyond_the_bound_is_stale() -> None:
    late = Read("book:1", 2, started=25.0, url="/api/books/1/")
    found = soak_checks.stale_reads(WRITES, [late], lag_bound=1.0)
    assert [(s.read, s.expected) for s in found] == [(late, 3)]
    assert found[0].lag == 5.0


def test_fresh_reads_and_reads_within_the_bound_pass() -> None:
    reads = [
        Read("book:1", 3, started=25.0),  # the newest
        Read("book:1", 2, started=20.5),  # older, but the commit was 0.5 s ago
        Read("book:1", 2, started=15.0),  # the newest at that time
        Read("book:1", 1, started=5.0),  # before any recorded write
        Read("book:2", 1, started=25.0),  # a key nobody wrote
    ]
    assert soak_checks.stale_reads(WRITES, reads, lag_bound=1.0) == []


def test_max_lag_is_the_longest_a_read_saw_an_older_version() -> None:
    reads = [Read("book:1", 2, started=20.4), Read("book:1", 2, started=20.1)]
    assert abs(soak_checks.max_lag(WRITES, reads) - 0.4) < 1e-9
    assert soak_checks.max_lag(WRITES, [Read("book:1", 3, started=30.0)]) == 0.0


def test_a_refresh_token_accepted_twice_is_a_double_spend() -> None:
    attempts = [
        RefreshAttempt("t1", 200, 1.0), RefreshAttempt("t1", 401, 1.0),
        RefreshAttempt("t2", 200, 1.0), RefreshAttempt("t2", 200, 1.0),
        RefreshAttempt("t2", 200, 9.0, kind="replay"),
        RefreshAttempt("t3", 401, 1.0), RefreshAttempt("t3", 503, 1.0),
    ]  # fmt: skip
    assert soak_checks.double_spends(attempts) == {"t2": 3}


def test_lost_invalidations_compare_served_with_committed() -> None:
    served = {"book:1": 3, "book:2": 7, "book:3": 1}
    committed = {"book:1": 3, "book:2": 8}
    assert soak_checks.lost_invalidations(served, committed) == {"book:2": (7, 8)}


LOG = """\
[2026-12-05 13:00:00 +0000] [12] [INFO] Booting worker with pid: 12
Internal Server Error: /api/books/
Traceback (most recent call last):
  File "/venv/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6390. Connection refused.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "x.py", line 1, in f
django.db.utils.OperationalError: terminating connection due to administrator command
Internal Server Error: /api/books/2/
Traceback (most recent call last):
  File "x.py", line 1, in f
redis.exceptions.ConnectionError: Connection refused
"""


def test_5xx_are_counted_by_status_detail_and_logged_exception() -> None:
    errors = [
        ServerError(503, "/api/auth/token/refresh/", "Token blacklist unavailable."),
        ServerError(500, "/api/books/", ""),
        ServerError(500, "/api/books/2/", ""),
    ]
    assert soak_checks.errors_by_cause(errors, LOG) == {
        "503: Token blacklist unavailable.": 1,
        "500: no detail in the answer": 2,
        "logged traceback: django.db.utils.OperationalError": 1,
        "logged traceback: redis.exceptions.ConnectionError": 1,
    }


BLACKLIST = "Token revocation list is unavailable; try again later."
REDIS_DOWN = soak_checks.Outage(10.0, 20.0, tolerated=("503: Token revocation list",), delays_writes=True)


def test_the_verdict_accepts_only_what_the_outage_explains_while_it_lasts(tmp_path: Path) -> None:
    recording = soak_checks.Recording(
        writes=list(WRITES),
        reads=[Read("book:1", 3, started=25.0)],
        refreshes=[RefreshAttempt("t1", 200, 1.0)],
        errors=[ServerError(503, "/api/auth/token/refresh/", BLACKLIST, at=12.0)],
    )
    path = tmp_path / "recording.json"
    recording.dump(path)
    loaded = soak_checks.Recording.load(path)
    assert loaded == recording
    verdict = soak_checks.judge(loaded, 1.0, served={"book:1": 3}, committed={"book:1": 3}, outage=REDIS_DOWN)
    assert verdict.clean
    assert verdict.summary()["5xx"] == 1
    # The same 503 without an outage, or long after it, is a broken promise.
    assert not soak_checks.judge(loaded, 1.0).clean
    late = soak_checks.Recording(errors=[ServerError(503, "/api/books/", BLACKLIST, at=25.0)])
    assert soak_checks.judge(late, 1.0, outage=REDIS_DOWN).unexpected == {f"503: {BLACKLIST}": 1}
    loaded.errors.append(ServerError(500, "/api/books/", "", at=12.0))
    assert not soak_checks.judge(loaded, 1.0, outage=REDIS_DOWN).clean
    lost = soak_checks.judge(recording, 1.0, served={"book:1": 2}, committed={"book:1": 3}, outage=REDIS_DOWN)
    assert not lost.clean
    assert lost.lost == {"book:1": (2, 3)}


def test_a_request_cut_by_a_killed_web_worker_is_expected_during_that_fault_only() -> None:
    cut = soak_checks.Recording(errors=[ServerError(0, "/api/books/", "", at=10.5)])
    killed = soak_checks.Outage(10.0, 10.2, tolerated=(soak_checks.NO_ANSWER,))
    verdict = soak_checks.judge(cut, 1.0, outage=killed)
    assert verdict.clean
    assert verdict.summary()["requests without an answer"] == 1
    assert verdict.summary()["5xx"] == 0
    assert not soak_checks.judge(cut, 1.0).clean


def test_an_outage_of_the_invalidation_path_moves_the_bound_to_its_end() -> None:
    writes = [Write("book:1", 5, committed=11.0)]
    during = [Read("book:1", 4, started=19.0), Read("book:1", 4, started=20.9)]
    assert len(soak_checks.stale_reads(writes, during, 1.0)) == 2  # without the outage
    assert soak_checks.stale_reads(writes, during, 1.0, REDIS_DOWN) == []  # due at 20.0 + 1.0
    later = [Read("book:1", 4, started=21.5)]
    assert [s.read for s in soak_checks.stale_reads(writes, later, 1.0, REDIS_DOWN)] == later
    web = soak_checks.Outage(10.0, 20.0)  # a fault that does not hold invalidation back
    assert len(soak_checks.stale_reads(writes, during, 1.0, web)) == 2
    assert REDIS_DOWN.due(5.0, 1.0) == 6.0  # visible before the outage began
    assert REDIS_DOWN.due(9.5, 1.0) == 21.0  # its bound reaches into the outage


def test_recovery_is_the_time_from_the_end_of_the_fault_to_the_last_error_and_stale_read() -> None:
    recording = soak_checks.Recording(
        writes=[Write("book:1", 5, committed=15.0)],
        reads=[Read("book:1", 4, started=23.0), Read("book:1", 5, started=24.0)],
        errors=[ServerError(503, "/api/books/", BLACKLIST, at=20.5)],
    )
    found = soak_checks.recovery(recording, 1.0, end=20.0)
    assert (found.errors, found.reads, found.seconds) == (0.5, 3.0, 3.0)
    assert soak_checks.recovery(soak_checks.Recording(), 1.0, end=20.0).seconds == 0.0
    assert soak_checks.judge(recording, 1.0, outage=REDIS_DOWN).recovery == found
