"""The workload of the rig (``nox -s load`` / ``nox -s soak``), run by Locust headless.

Signed-in users read the catalogue (lists, details, per-user pages, the cached service
function; under ``RESTFLOW_SOAK_SERVER=uvicorn`` also the async summary view), write book
prices, log in, refresh with rotation and log out (the refresh token blacklisted, then a
new sign-in); ``RESTFLOW_SOAK_MIX=write`` makes half the tasks writes. The weights are
``soak_mix``'s table. With ``RESTFLOW_SOAK_RATE`` each user runs on a fixed schedule
(open loop) and each task's first request is timed from the moment it was due, not from
when it was sent (``RESTFLOW_SOAK_LATENCY``: those times, in ms), so a slow server cannot
lower the load it is measured at. With ``RESTFLOW_SOAK_RACES=1`` they also race one
refresh token from 3 greenlets and replay spent tokens later. Every write's committed
version and every read's version are recorded for the checks (``soak_checks``), written
to ``RESTFLOW_SOAK_RECORD`` at the end.

A book's version is its price in cents: each write sets a price higher than any before,
and only one write per book is in flight at a time, so versions follow commit order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Group
from locust import HttpUser, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_checks import Read, Recording, RefreshAttempt, ServerError, Write
from soak_mix import weights

USERS = {"ada": "ada-demo-password", "grace": "grace-demo-password"}
RECORD = Recording()
# Above every seeded price (in cents), and above every version an earlier phase of the
# same run wrote (the rig passes a higher base to each Locust run against one database).
VERSIONS = itertools.count(int(os.environ.get("RESTFLOW_SOAK_VERSION_BASE") or 100_000))
WRITING: set[int] = set()
SPENT: list[tuple[float, str]] = []  # (when, refresh token) accepted once already
MAX_REQUESTS = int(os.environ.get("RESTFLOW_SOAK_MAX_REQUESTS", "0"))
RACES = os.environ.get("RESTFLOW_SOAK_RACES") == "1"
WRITE_HEAVY = os.environ.get("RESTFLOW_SOAK_MIX") == "write"
# gunicorn | uvicorn: the async summary view is in the mix under an ASGI server only.
WEIGHTS = weights("write" if WRITE_HEAVY else "read", os.environ.get("RESTFLOW_SOAK_SERVER") or "gunicorn")
# Tasks per second per user on a fixed schedule (see wait_time): a fixed offered load.
RATE = float(os.environ.get("RESTFLOW_SOAK_RATE") or 0)
LATENCIES: list[float] = []  # ms from the moment each request was due (see _send)
_sent = itertools.count(1)
_names = itertools.cycle(sorted(USERS))


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _version(price: str) -> int:
    return int(Decimal(price) * 100)


@events.request.add_listener
def _bounded(**kwargs: Any) -> None:
    """Stop the whole run after ``RESTFLOW_SOAK_MAX_REQUESTS`` requests."""
    if MAX_REQUESTS and next(_sent) == MAX_REQUESTS:
        runner = kwargs["context"].get("runner")
        if runner is not None:
            gevent.spawn(runner.quit)


@events.test_stop.add_listener
def _dump(**kwargs: Any) -> None:
    target = os.environ.get("RESTFLOW_SOAK_RECORD")
    if target:
        RECORD.dump(Path(target))
    latency = os.environ.get("RESTFLOW_SOAK_LATENCY")
    if latency:
        Path(latency).write_text(json.dumps(LATENCIES))


class CatalogueUser(HttpUser):
    due = 0.0  # when the next task is due (fixed schedule: RATE tasks/s)
    intended: float | None = None  # when the running task was due, until its first request

    def wait_time(self) -> float:
        """Closed loop without ``RATE``; else the next slot of the schedule, however late
        the last task ended (a late task makes the next ones late, and they count it)."""
        if not RATE:
            return 0.0
        self.due += 1.0 / RATE
        self.intended = self.due
        return max(0.0, self.due - time.time())

    def context(self) -> dict[str, Any]:
        return {"runner": self.environment.runner}

    def on_start(self) -> None:
        self.books: list[int] = []
        self.due = time.time() + random.uniform(0, 1.0 / RATE if RATE else 0.0)  # spread users
        self.login()
        self.book_list()

    # ----------------------------------------------------------------- helpers

    def _send(self, method: str, url: str, name: str, *, json: Any = None, auth: bool = True,
              ok: tuple[int, ...] = (200, 201)) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.access}"} if auth else {}
        sent, self.intended = (self.intended or time.time()), None
        with self.client.request(method, url, name=name, json=json, headers=headers,
                                 catch_response=True) as response:
            status = response.status_code
            try:
                body = response.json()
            except ValueError:
                body = None
            if status >= 500 or status == 0:  # 0: no answer (connection refused or closed)
                detail = body.get("detail", "") if isinstance(body, dict) else ""
                RECORD.errors.append(ServerError(status, name, str(detail), time.time()))
            if status in ok:
                response.success()
            else:
                response.failure(f"HTTP {status}")
        LATENCIES.append((time.time() - sent) * 1000)
        return status, body

    def get(self, url: str, name: str) -> Any:
        status, body = self._send("GET", url, name)
        if status == 401:  # access token expired or refused: sign in again
            self.login()
        return body if status == 200 else None

    def login(self) -> None:
        name = next(_names)
        status, body = self._send("POST", "/api/auth/token/", "/api/auth/token/",
                                  json={"username": name, "password": USERS[name]}, auth=False)
        if status == 200:
            self.access, self.refresh = body["access"], body["refresh"]
        else:
            self.access = self.refresh = ""

    # ----------------------------------------------------------------- reads

    @task(WEIGHTS["book_list"])
    def book_list(self) -> None:
        started = time.time()
        books = self.get("/api/books/", "/api/books/")
        if books:
            self.books = [book["id"] for book in books]
        for book in books or []:
            RECORD.reads.append(Read(f"book:{book['id']}", _version(book["price"]), started, "list"))

    @task(WEIGHTS["book_detail"])
    def book_detail(self) -> None:
        self._read_book("", "detail")

    @task(WEIGHTS["book_summary"])
    def book_summary(self) -> None:
        """The async view (a Django ``async def`` view: restflow's ``aauthenticate`` and
        ``cache_response``); its price is a book version like the detail's."""
        self._read_book("summary/", "summary")

    def _read_book(self, suffix: str, kind: str) -> None:
        """GET ``/api/books/<a known id>/<suffix>`` and record the version it returned."""
        if not self.books:
            return self.book_list()
        book_id = random.choice(self.books)
        started = time.time()
        book = self.get(f"/api/books/{book_id}/{suffix}", f"/api/books/[id]/{suffix}")
        if book:
            RECORD.reads.append(Read(f"book:{book_id}", _version(book["price"]), started, kind))

    @task(WEIGHTS["authors"])
    def authors(self) -> None:
        self.get("/api/authors/", "/api/authors/")

    @task(WEIGHTS["my_reviews"])
    def my_reviews(self) -> None:
        self.get("/api/me/reviews/", "/api/me/reviews/")

    @task(WEIGHTS["rating"])
    def rating(self) -> None:
        if not self.books:
            return self.book_list()
        self.get(f"/api/books/{random.choice(self.books)}/rating/", "/api/books/[id]/rating/")

    # ----------------------------------------------------------------- writes

    @task(WEIGHTS["write_price"])
    def write_price(self) -> None:
        free = [b for b in self.books if b not in WRITING]
        if not free:
            return
        book_id = random.choice(free)
        WRITING.add(book_id)
        try:
            version = next(VERSIONS)
            status, _ = self._send("PATCH", f"/api/books/{book_id}/", "/api/books/[id]/ PATCH",
                                   json={"price": f"{Decimal(version) / 100:.2f}"})
            if status == 200:
                RECORD.writes.append(Write(f"book:{book_id}", version, time.time()))
        finally:
            WRITING.discard(book_id)

    # ----------------------------------------------------------------- tokens

    @task(WEIGHTS["sign_in"])
    def sign_in(self) -> None:
        self.login()

    @task(WEIGHTS["rotate"])
    def rotate(self) -> None:
        if not self.refresh:
            return self.login()
        token = self.refresh
        status, body = self._send("POST", "/api/auth/token/refresh/", "/api/auth/token/refresh/",
                                  json={"refresh": token}, auth=False)
        RECORD.refreshes.append(RefreshAttempt(_token_id(token), status, time.time(), "rotate"))
        if status == 200:
            SPENT.append((time.time(), token))
            self.access, self.refresh = body["access"], body.get("refresh", token)
        else:
            self.login()

    @task(WEIGHTS["logout"])
    def logout(self) -> None:
        """Log out (the refresh token blacklisted), then sign in again; a later replay of
        the logged-out token must be refused."""
        token = self.refresh
        if not token:
            return self.login()
        status, _ = self._send("POST", "/api/auth/token/blacklist/", "/api/auth/token/blacklist/",
                               json={"refresh": token}, auth=False, ok=(200, 204))
        RECORD.refreshes.append(RefreshAttempt(_token_id(token), status, time.time(), "logout"))
        if 200 <= status < 300:
            SPENT.append((time.time(), token))
        self.login()

    @task(2 if RACES else 0)
    def race(self) -> None:
        """Three concurrent rotations of the user's refresh token: at most one may succeed."""
        token = self.refresh
        if not token:
            return self.login()
        winners: list[Any] = []

        def attempt() -> None:
            status, body = self._send("POST", "/api/auth/token/refresh/", "refresh (race)",
                                      json={"refresh": token}, auth=False, ok=(200, 401))
            RECORD.refreshes.append(RefreshAttempt(_token_id(token), status, time.time(), "race"))
            if status == 200:
                winners.append(body)

        group = Group()
        for _ in range(3):
            group.spawn(attempt)
        group.join()
        SPENT.append((time.time(), token))
        if winners:
            self.access, self.refresh = winners[0]["access"], winners[0].get("refresh", token)
        else:
            self.login()

    @task(2 if RACES else 0)
    def replay(self) -> None:
        """A token spent more than a second ago, sent again: must be refused."""
        old = [token for when, token in SPENT[-500:] if when < time.time() - 1.0]
        if not old:
            return
        token = random.choice(old)
        status, _ = self._send("POST", "/api/auth/token/refresh/", "refresh (replay)",
                               json={"refresh": token}, auth=False, ok=(401,))
        RECORD.refreshes.append(RefreshAttempt(_token_id(token), status, time.time(), "replay"))
