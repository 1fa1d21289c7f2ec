"""What the soak run checks, computed from what the load generator recorded.

Standard library only: the Locust process records, the rig judges, the suite tests this
module on recorded data (``tests/soak_checks``).

* stale reads: a read that returned an older version than the newest one committed more
  than ``lag_bound`` seconds before the read started;
* double spends: one refresh token accepted more than once (a race or a replay);
* lost invalidations: after the run quiesces, what the API serves differs from the
  database;
* 5xx: every one counted, with its cause (the exception the server logged, else the
  response's ``detail``); only what the fault's ``Outage`` tolerates while it lasts is
  expected (the blacklist's 503 while Redis is down, no answer from a killed web worker).

The stated lag bound: a write is visible to every read that starts more than
``lag_bound`` seconds after its commit; when the commit meets an outage of the cache,
the broker or the worker (``Outage``), more than ``lag_bound`` after the outage ended.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Write:
    """A write the server acknowledged: ``key`` holds ``version`` from ``committed`` on."""

    key: str
    version: int
    committed: float  # when the 2xx answer arrived: the commit happened before


@dataclass(frozen=True)
class Read:
    """A read that started at ``started`` and returned ``version`` of ``key``."""

    key: str
    version: int
    started: float
    url: str = ""


@dataclass(frozen=True)
class StaleRead:
    read: Read
    expected: int  # the newest version committed before read.started - lag_bound
    lag: float  # seconds between that commit and the read's start


@dataclass(frozen=True)
class RefreshAttempt:
    """One use of a refresh token (``token`` is an id of it, not the token itself)."""

    token: str
    status: int
    at: float
    kind: str = "race"  # "race" (sent concurrently) or "replay" (sent again later)


@dataclass(frozen=True)
class ServerError:
    status: int
    url: str
    detail: str = ""
    at: float = 0.0


@dataclass
class Recording:
    """Everything one load run recorded (written by the locustfile as JSON)."""

    writes: list[Write] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    refreshes: list[RefreshAttempt] = field(default_factory=list)
    errors: list[ServerError] = field(default_factory=list)

    def dump(self, path: Path) -> None:
        data = {name: [asdict(item) for item in getattr(self, name)] for name in self.__dataclass_fields__}
        path.write_text(json.dumps(data))

    @classmethod
    def merge(cls, parts: Iterable[Recording]) -> Recording:
        merged = cls()
        for part in parts:
            for name in cls.__dataclass_fields__:
                getattr(merged, name).extend(getattr(part, name))
        return merged

    @classmethod
    def load(cls, path: Path) -> Recording:
        data = json.loads(path.read_text())
        return cls(
            writes=[Write(**item) for item in data.get("writes", [])],
            reads=[Read(**item) for item in data.get("reads", [])],
            refreshes=[RefreshAttempt(**item) for item in data.get("refreshes", [])],
            errors=[ServerError(**item) for item in data.get("errors", [])],
        )


@dataclass(frozen=True)
class Outage:
    """A fault from ``start`` to ``end`` (wall clock): what users may see while it lasts."""

    start: float
    end: float
    tolerated: tuple[str, ...] = ()  # causes (prefixes of ``errors_by_cause`` keys) expected then
    slack: float = 1.0  # seconds after ``end`` still counted as during the outage
    delays_writes: bool = False  # the invalidation path was down: commits wait for its end

    def due(self, committed: float, lag_bound: float) -> float:
        """When a write committed at ``committed`` must be visible under the stated bound."""
        if self.delays_writes and committed <= self.end and committed + lag_bound >= self.start:
            return max(committed, self.end) + lag_bound
        return committed + lag_bound

    def tolerates(self, cause: str, at: float) -> bool:
        return self.start <= at <= self.end + self.slack and cause.startswith(self.tolerated)


# --------------------------------------------------------------------------- stale reads


class _History:
    """The writes of one key by commit time, with the newest version committed so far."""

    def __init__(self, writes: list[Write]) -> None:
        ordered = sorted(writes, key=lambda w: w.committed)
        self.times = [w.committed for w in ordered]
        self.newest: list[Write] = []
        for write in ordered:
            best = self.newest[-1] if self.newest else None
            self.newest.append(write if best is None or write.version > best.version else best)

    def newest_before(self, moment: float) -> Write | None:
        index = bisect.bisect_right(self.times, moment)
        return self.newest[index - 1] if index else None

    def first_newer_than(self, version: int, before: float) -> Write | None:
        """The earliest commit (before ``before``) of a version newer than ``version``."""
        for moment, newest in zip(self.times, self.newest, strict=False):
            if moment > before:
                return None
            if newest.version > version:
                return newest
        return None


def stale_reads(writes: Iterable[Write], reads: Iterable[Read], lag_bound: float,
                outage: Outage | None = None) -> list[StaleRead]:
    """Reads older than the newest version committed ``lag_bound`` s before they started
    (with an ``outage`` that delays writes: older than a version due before they started)."""
    by_key: dict[str, list[Write]] = defaultdict(list)
    for write in writes:
        if outage is not None:  # judged at the moment it became due, minus the bound
            write = Write(write.key, write.version, outage.due(write.committed, lag_bound) - lag_bound)
        by_key[write.key].append(write)
    histories = {key: _History(items) for key, items in by_key.items()}
    found = []
    for read in reads:
        history = histories.get(read.key)
        if history is None:
            continue
        expected = history.newest_before(read.started - lag_bound)
        if expected is not None and read.version < expected.version:
            first = history.first_newer_than(read.version, read.started)
            lag = read.started - (first or expected).committed
            found.append(StaleRead(read, expected.version, lag))
    return found


def max_lag(writes: Iterable[Write], reads: Iterable[Read]) -> float:
    """The longest time a read still saw a version older than one already committed."""
    return max((s.lag for s in stale_reads(writes, reads, lag_bound=0.0)), default=0.0)


# --------------------------------------------------------------------------- double spends


def double_spends(attempts: Iterable[RefreshAttempt]) -> dict[str, int]:
    """Refresh tokens accepted more than once, with how many times each was accepted."""
    accepted: Counter[str] = Counter(a.token for a in attempts if 200 <= a.status < 300)
    return {token: count for token, count in accepted.items() if count > 1}


# --------------------------------------------------------------------------- lost invalidations


def lost_invalidations(served: Mapping[str, int], committed: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Keys whose served version differs from the database's, as (served, committed)."""
    return {
        key: (version, committed[key])
        for key, version in served.items()
        if key in committed and version != committed[key]
    }


# --------------------------------------------------------------------------- 5xx by cause

_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Unavailable|Timeout|Refused)\w*)(?::|$)")


NO_ANSWER = "no answer: connection refused or closed"


def logged_causes(log: str) -> Counter[str]:
    """The exception class that ended each traceback the server logged."""
    causes: Counter[str] = Counter()
    in_traceback = False
    last = ""
    for line in log.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback, last = True, ""
            continue
        if in_traceback:
            if line.startswith((" ", "\t")) or not line.strip():
                continue
            if line.startswith(("During handling", "The above exception")):
                continue
            match = _EXCEPTION.match(line)
            if match:
                last = match.group(1)
                continue
            in_traceback = False
            if last:
                causes[last] += 1
                last = ""
    if in_traceback and last:
        causes[last] += 1
    return causes


def cause_of(error: ServerError) -> str:
    if error.status == 0:
        return NO_ANSWER
    return f"{error.status}: {error.detail.strip() or 'no detail in the answer'}"


def errors_by_cause(errors: Iterable[ServerError], log: str = "") -> dict[str, int]:
    """Each 5xx counted once: by its status and ``detail``; the log says what raised the 500s."""
    counted: Counter[str] = Counter(cause_of(error) for error in errors)
    causes = logged_causes(log)
    if causes:
        for cause, count in causes.items():
            counted[f"logged traceback: {cause}"] += count
    return dict(counted)


@dataclass
class Verdict:
    """The checks of one run, as the report shows them."""

    stale: list[StaleRead]
    lag_bound: float
    max_lag: float
    double_spends: dict[str, int]
    lost: dict[str, tuple[int, int]]
    errors: dict[str, int]
    reads: int
    writes: int
    refreshes: int
    unexpected: dict[str, int] = field(default_factory=dict)  # errors the outage does not explain
    recovery: Recovery | None = None

    @property
    def clean(self) -> bool:
        return not (self.stale or self.double_spends or self.lost or self.unexpected)

    def summary(self) -> dict[str, Any]:
        return {
            "reads checked": self.reads,
            "writes": self.writes,
            "refresh attempts": self.refreshes,
            f"stale reads beyond the bound ({self.lag_bound:g} s after the commit or the outage)": len(
                self.stale
            ),
            "max observed lag (s)": round(self.max_lag, 3),
            "double spends": sum(n - 1 for n in self.double_spends.values()),
            "lost invalidations": len(self.lost),
            "5xx": sum(n for cause, n in self.errors.items() if not cause.startswith(("logged", NO_ANSWER))),
            "requests without an answer": self.errors.get(NO_ANSWER, 0),
            "5xx or no answer not explained by the fault": sum(self.unexpected.values()),
        }


def unexpected_errors(errors: Iterable[ServerError],
                      outage: Outage | None = None) -> dict[str, int]:
    """The answers no outage explains, by cause (the log's tracebacks explain the 500s among
    them: they are not counted again)."""
    return dict(Counter(
        cause_of(error) for error in errors
        if outage is None or not outage.tolerates(cause_of(error), error.at)
    ))


@dataclass(frozen=True)
class Recovery:
    """Seconds from the end of a fault until the last error, and until the last read that
    missed a write committed more than the bound before it (0.0: none after the end)."""

    errors: float
    reads: float

    @property
    def seconds(self) -> float:
        return max(self.errors, self.reads)


def recovery(recording: Recording, lag_bound: float, end: float) -> Recovery:
    last_error = max((e.at for e in recording.errors if e.at), default=end)
    stale = stale_reads(recording.writes, recording.reads, lag_bound)
    last_stale = max((s.read.started for s in stale), default=end)
    return Recovery(errors=max(0.0, last_error - end), reads=max(0.0, last_stale - end))


def judge(recording: Recording, lag_bound: float, *, served: Mapping[str, int] | None = None,
          committed: Mapping[str, int] | None = None, log: str = "",
          outage: Outage | None = None) -> Verdict:
    return Verdict(
        stale=stale_reads(recording.writes, recording.reads, lag_bound, outage),
        lag_bound=lag_bound,
        max_lag=max_lag(recording.writes, recording.reads),
        double_spends=double_spends(recording.refreshes),
        lost=lost_invalidations(served or {}, committed or {}),
        errors=errors_by_cause(recording.errors, log),
        reads=len(recording.reads),
        writes=len(recording.writes),
        refreshes=len(recording.refreshes),
        unexpected=unexpected_errors(recording.errors, outage),
        recovery=None if outage is None else recovery(recording, lag_bound, outage.end),
    )
