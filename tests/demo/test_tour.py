"""The demo of docs/example runs its tour against a real server and prints a transcript.

``demo.py --tour-only`` generates an ES256 signing key, migrates a fresh SQLite database,
seeds it, starts ``runserver`` on a free port, runs the HTTP tour (tokens and the JWKS,
cached lists, invalidation, the async view, rotation, logout) and stops the server. These
tests run it as a user would and check what it printed, and that nothing is left running.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "docs" / "example" / "demo.py"
# Bounds for a machine under load, not expectations: the tour takes a few seconds.
RUN_TIMEOUT = 240
STOP_TIMEOUT = 30


def run_demo(*args: str) -> tuple[int, str]:
    proc = subprocess.Popen(
        [sys.executable, str(DEMO), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # demo.py stops its server and worker on SIGTERM
        try:
            out, _ = proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=STOP_TIMEOUT)
        pytest.fail(f"the demo did not finish within {RUN_TIMEOUT} s:\n{out}")
    return proc.returncode, out


def statuses(transcript: str, request: str) -> list[str]:
    """The X-Cache-status of every printed ``GET <path>`` line, in order."""
    pattern = re.compile(rf"^  GET  {re.escape(request)}\s+-> 200  X-Cache-status: (\w+)", re.M)
    return pattern.findall(transcript)


def line(transcript: str, fragment: str) -> str:
    found = [text for text in transcript.splitlines() if fragment in text]
    assert found, f"no line with {fragment!r} in:\n{transcript}"
    return found[0]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def assert_stopped(transcript: str) -> None:
    """The server (and worker) processes are gone, the port is free, the temporary
    directory removed."""
    match = re.search(r"server started: http://127\.0\.0\.1:(\d+)/api/ \(pid (\d+), log: (.+)\)", transcript)
    assert match, transcript
    pids = [int(match[2]), *map(int, re.findall(r"worker started \(pid (\d+),", transcript))]
    assert all(_gone(pid) for pid in pids), f"still running: {pids}"
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex(("127.0.0.1", int(match[1]))) != 0, "the server is still running"
    assert not Path(match[3]).parent.exists(), "the demo left its temporary directory behind"


def assert_tour(transcript: str) -> None:
    assert "tour passed:" in transcript, transcript
    # Tokens: refused without one, issued for the seeded users.
    assert "-> 401" in line(transcript, "GET  /api/books/  (no token)")
    assert "-> 200  access + refresh" in line(transcript, "POST /api/auth/token/  ada")
    assert "-> 401" in line(transcript, "(tampered token)")
    # The JWKS publishes the ES256 key made at start-up, whose kid the tokens carry.
    kid = re.search(r"signing key: ES256, kid (\S+) \(restflow_keys generate", transcript)
    assert kid, transcript
    assert f"signed with ES256, kid {kid[1]}" in transcript
    assert "-> 200  1 key(s), public, max-age=600" in line(transcript, "GET  /api/auth/.well-known/jwks.json")
    assert "the token's kid is there: EC P-256, public part only" in transcript
    # The list: MISS then HIT, MISS again after the edit through the API, then HIT.
    assert statuses(transcript, "/api/books/") == ["MISS", "HIT", "MISS", "HIT", "HIT", "MISS"]
    # A gate: an author save that leaves the name alone does not touch the book list.
    gate = line(transcript, "born (name unchanged)")
    assert transcript.index(gate) < transcript.index("watch_fields=['name']: not run")
    assert statuses(transcript, "/api/books/?author=2") == ["MISS", "HIT", "MISS"]
    edit = transcript.index("PATCH /api/books/")
    assert "-> 200" in line(transcript, "PATCH /api/books/")
    assert transcript.index("now costs 6.50") > edit
    # The cached service function: one partition per book.
    assert statuses(transcript, "/api/books/3/rating/") == ["MISS", "HIT", "MISS"]
    assert statuses(transcript, "/api/books/6/rating/") == ["MISS", "HIT"]
    assert "{'reviews': 2, 'average': 4.5}" in transcript
    # The async view: refused without a token, then cached and invalidated like the others.
    assert "-> 401" in line(transcript, "GET  /api/books/1/summary/  (no token)")
    assert statuses(transcript, "/api/books/1/summary/") == ["MISS", "HIT", "MISS"]
    # Per-user entries.
    assert statuses(transcript, "/api/me/reviews/  as ada") == ["MISS", "HIT", "MISS"]
    assert statuses(transcript, "/api/me/reviews/  as grace") == ["MISS", "HIT", "HIT"]
    # Ada's review drops her entry only (the rule maps the key field "user").
    review = transcript.index("reviews/  ada, 5 stars")
    assert transcript.index("grace's entry survived") > review
    assert transcript.index("her partition was dropped") > review
    # Rotation, a stolen refresh token reused (its session dies), logout.
    assert "-> 200  new access + refresh #2" in line(transcript, "(refresh #1)")
    replay = line(transcript, "(#1 stolen, replayed)")
    assert "-> 401" in replay
    assert "its session has been revoked" in replay
    assert "-> 401  the session died" in line(transcript, "(ada's access token)")
    assert "Session has been revoked." in line(transcript, "(ada's #2)")
    assert "-> 200  a new session" in line(transcript, "ada (signs in again)")
    assert "-> 204" in line(transcript, "(logout)")
    assert "-> 401" in line(transcript, "(after logout)")


def test_tour_on_the_embedded_defaults() -> None:
    code, transcript = run_demo("--tour-only")
    assert code == 0, transcript
    assert "cache and JWT blacklist: local memory; invalidation: inline" in transcript
    assert_tour(transcript)
    assert "keeps running" not in transcript
    assert_stopped(transcript)


@pytest.mark.redis
def test_tour_with_the_cache_and_blacklist_in_redis(redis_url: str) -> None:
    import redis

    code, transcript = run_demo("--tour-only", "--redis", redis_url)
    assert code == 0, transcript
    assert f"cache and JWT blacklist: Redis {redis_url}; invalidation: inline" in transcript
    assert_tour(transcript)
    assert_stopped(transcript)
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).scan_iter("restflow-demo-*")]
    # The revoked refresh tokens and the cached responses were stored in this Redis.
    assert any(":restflow:jwt:bl:" in key for key in keys), keys
    assert any("ResponseCache::catalogue.views.BookList.get" in key for key in keys), keys


@pytest.mark.redis
@pytest.mark.broker
@pytest.mark.slow
def test_tour_with_invalidation_on_a_celery_worker(redis_url: str) -> None:
    code, transcript = run_demo("--tour-only", "--redis", redis_url, "--broker", "celery")
    assert code == 0, transcript
    assert "invalidation: the celery worker" in transcript
    assert "celery worker started (pid " in transcript
    assert_tour(transcript)
    ran = re.search(r"the celery worker ran the (\d+) invalidation jobs .*; none ran inline", transcript)
    assert ran, transcript
    assert int(ran[1]) > 0
    assert_stopped(transcript)


def test_a_broker_without_redis_is_refused_with_the_fix() -> None:
    code, transcript = run_demo("--tour-only", "--broker", "celery")
    assert code == 2
    assert "--broker needs --redis URL" in transcript
