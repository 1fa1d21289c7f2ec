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


def test_the_verdict_accepts_503_only(tmp_path: Path) -> None:
    recording = soak_checks.Recording(
        writes=list(WRITES),
        reads=[Read("book:1", 3, started=25.0)],
        refreshes=[RefreshAttempt("t1", 200, 1.0)],
        errors=[ServerError(503, "/api/auth/token/refresh/", "down")],
    )
    path = tmp_path / "recording.json"
    recording.dump(path)
    loaded = soak_checks.Recording.load(path)
    assert loaded == recording
    verdict = soak_checks.judge(loaded, 1.0, served={"book:1": 3}, committed={"book:1": 3})
    assert verdict.clean
    assert verdict.summary()["5xx"] == 1
    loaded.errors.append(ServerError(500, "/api/books/", ""))
    assert not soak_checks.judge(loaded, 1.0).clean
    cut = soak_checks.Recording(errors=[ServerError(0, "/api/books/", "")])
    verdict = soak_checks.judge(cut, 1.0)
    assert verdict.clean  # a request cut by a killed worker is counted, not a broken promise
    assert verdict.summary()["requests without an answer"] == 1
    assert verdict.summary()["5xx"] == 0
    stale = soak_checks.Recording(writes=list(WRITES), reads=[Read("book:1", 2, started=30.0)])
    assert soak_checks.judge(stale, 1.0).summary()["stale reads (> 1 s)"] == 1
    lost = soak_checks.judge(recording, 1.0, served={"book:1": 2}, committed={"book:1": 3})
    assert not lost.clean
    assert lost.lost == {"book:1": (2, 3)}
