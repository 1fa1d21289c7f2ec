"""The machine a run came from, and the ``docs/benchmarks.md`` page."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

DISTRIBUTIONS = (
    "Django", "djangorestframework", "djangorestframework-simplejwt", "drf-extensions",
    "PyJWT", "redis", "django-redis", "restflow-core", "restflow-jwt", "restflow-cache",
    "celery", "rq", "django-rq", "dramatiq", "django-q2",
)

# Why a row misses its target: causes found with pyinstrument and ``python -X importtime``
# on this code base (keyed by comparison id prefix; shown only for rows that missed).
CAUSES: dict[str, str] = {
    "jwt.authenticate.blacklist_on": (
        "restflow performs the blacklist read the settings ask for (one Redis GET per request, "
        "see the counts) and simplejwt performs none; the row is within its floor target "
        "(decode + GET + user query), so the gap to simplejwt is the Redis round trip, which "
        "restflow's cheaper decode and user lookup do not fully pay back on this machine. "
        "Profile: PyJWT.decode ~55% and the user query ~40% of restflow's own time; restflow "
        "also parses the JOSE header before PyJWT parses it again (~10% of the decode)."
    ),
    "jwt.authenticate.blacklist_off": (
        "Same work as simplejwt (one decode, one user query, see the counts); the profile is "
        "dominated by PyJWT.decode and the ORM query, so the margin to simplejwt is small."
    ),
    "jwt.dispatch": (
        "The extra Redis GET of the blacklist check (ON by default; simplejwt checks none) is "
        "the difference; DRF's own dispatch cost is identical for both."
    ),
    "cache_result.hit": (
        "A hit reads the entry and its generation scopes in one MGET (3 keys) and unpickles "
        "3 values where a raw GET reads 1 (both are one round trip, see the counts). "
        "restflow / raw_get_many of the same 3 keys is about 1.0-1.1x, so the gap is the "
        "extra keys, i.e. the price of constant-time invalidation without a stale set (R1/R2), "
        "not wrapper overhead."
    ),
    "invalidation.save": (
        "The cache cost is one set_many per save whatever the number of rules (see the "
        "counts), but that set_many writes one scope per rule. restflow's own Python per "
        "rule is ~0.1 us of CPU (rules compiled per kind of change, the worker's scopes "
        "kept per job). On local memory the keys of a save's scope names are made once "
        "per key function, prefix and version (then remembered), with one expiry and one "
        "pickled token per write, so one more rule costs ~0.4 us with the write of its "
        "scope and 100 rules stay under 2x (2.2-2.4x before; 2.9x before the fixed cost "
        "was cut, 5.2x before the compiled plans; this bench before them: 4.47x). On "
        "Redis the write of each scope (script arguments, server work) is most of the "
        "cost of a rule. Wall-clock rows from a loaded machine scale every figure with "
        "the load."
    ),
    "cache_response.hit": (
        "restflow reads the entry and its scope tokens (namespace, function, key: one MGET of "
        "4 keys) where drf-extensions GETs one key. restflow's own work on a hit is ~15 us of "
        "CPU against ~50 us for drf-extensions, and its MGET is packed once per key list and "
        "costs the client about what drf-extensions' GET costs; what is left is Redis "
        "answering 3 more keys and redis-py parsing 3 more replies. The scopes are the price "
        "of constant-time invalidation without a stale set (R1/R2)."
    ),
    "delete_by_prefix.locmem": (
        "On local memory a single set costs ~10-20 us, so Python overhead dominates: binding "
        "the arguments and rendering the partition parts, minting the token (os.urandom) and "
        "LocMemCache's own pickling under its lock. The command count is constant (one "
        "set_many at every size) and the Redis rows meet the target, where the round trip "
        "dominates."
    ),
    "memory.metadata": (
        "Every entry owns a key scope: a 27-character key holding a 63-bit integer token, "
        "which Redis keeps inline (~72 bytes per key, nearly all of it Redis's own per-key "
        "bookkeeping); the envelope adds ~49 pickled bytes (stamp tokens, two timestamps), "
        "which Redis's allocation size classes absorb or not depending on the value's size. "
        "Going lower means giving up the per-key scope, i.e. delete_cache's no-stale-set "
        "guarantee or its eviction safety."
    ),
    "startup.django_setup": (
        "restflow's AppConfig.ready() methods import only restflow's own settings, checks and "
        "signal handlers, and the client library of the configured caches (none here: local "
        "memory): dispatcher plugins (and Celery, RQ, Dramatiq, django-q2) are "
        "imported on first use, PyJWT and cryptography when the first token is handled. "
        "A miss points at a new eager import: compare `python -X importtime` of a bare "
        "project and of one with restflow's apps installed."
    ),
    "startup.first_request": (
        "redis-py was imported by the first request, not at boot: AppConfig.ready() of "
        "restflow.caching / restflow.authentication no longer loads the cache client "
        "(restflow._cacheclients.load_cache_client), or the settings name a backend it does "
        "not know."
    ),
    "brokers": (
        "The end-to-end time starts before save(), so it includes the database write and "
        "commit (SQLite fsync) and the publish; the no-op round trip includes neither. "
        "save_call_p99_ms (until save() returns) is of the order of the whole no-op p99: "
        "most of the gap is spent before the job reaches the broker, and the remainder "
        "(worker-side run_cache_rules + one set_many) is close to the no-op's own work."
    ),
}


def _run(*cmd: str) -> str:
    if shutil.which(cmd[0]) is None:
        return "(not available)"
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False).stdout
        return out.strip("\n")
    except (OSError, subprocess.SubprocessError):
        return "(failed)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "(unknown)"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(redis_url: str = "") -> dict[str, Any]:
    return {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": _run("nproc"),
        "free_h": _run("free", "-h"),
        "cpu_model": _cpu_model(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "redis_server": _run("redis-server", "--version"),
        "database": "PostgreSQL (DATABASE_URL)" if os.environ.get("DATABASE_URL") else "SQLite (file)",
        "versions": {name: _version(name) for name in DISTRIBUTIONS},
        "git_commit": _run("git", "rev-parse", "--short", "HEAD"),
    }


def _summary(rows: list[dict[str, Any]]) -> str:
    lines = ["| Comparison | Backend | Headline ratio / value | Target | Status |", "|---|---|---|---|---|"]
    for row in rows:
        checks = row["checks"] or []
        head = "; ".join(f"{c['value']:.2f}" for c in checks) or "-"
        target = "; ".join(c["label"] for c in checks)
        facts = "; ".join(f"{f['label']}: {'yes' if f['ok'] else 'no'}" for f in row["facts"])
        target = "; ".join(x for x in (target, facts) if x) or "(reported only)"
        lines.append(f"| {row['title']} | {row['backend']} | {head} | {target} | **{row['status']}** |")
    return "\n".join(lines) + "\n"


def _missed(rows: list[dict[str, Any]]) -> str:
    missed = [r for r in rows if r["status"] == "missed"]
    if not missed:
        return "Every row met its target in this run.\n"
    out = []
    for row in missed:
        cause = next((text for prefix, text in CAUSES.items() if row["comparison"].startswith(prefix)),
                     "Not yet analysed.")
        out.append(f"- **{row['title']}** ({row['backend']}): {cause}")
    return "\n".join(out) + "\n"


# Why each fast path is kept (comparison id -> decision); see bench_fastpaths.py.
FAST_PATH_DECISIONS: dict[str, str] = {
}
# Fast paths removed for buying less than ~10%: their last measurement (they cannot be
# measured any more). Operation, public µs, fast µs, ratio [min-max], decision.
REMOVED_FAST_PATHS = [
    ("@cache_response hit: response assembled with object.__new__, `_container` and "
     "`ResponseHeaders._store` instead of `HttpResponse()` (locmem)", "617.7", "590.0",
     "0.92 [0.84-0.99]"),
]
REMOVED_RUN = "3 fresh processes on 2026-12-05 10:46 UTC (commit 5a29079), load average 5.44 5.29 4.57"


def _fast_paths(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    fast = [r for r in rows if r["comparison"].startswith("fastpath.")]
    if not fast:
        return "Not measured in this run (`--groups fastpaths`).\n"
    load = meta.get("load_by_group", {}).get("fastpaths", "?")
    processes = meta.get("processes", {}).get("fastpaths", "?")
    lines = [
        "Each fast path reads or writes another library's private attributes. Each row "
        "times the same operation twice, alternately: `fast` as shipped, `public` with the "
        "fast path's own gate closed (patched), so the public-API fallback runs. Ratio = "
        "fast / public (median of per-round ratios, median of processes [min-max]); a fast "
        "path buying less than ~10% (ratio above 0.90) is removed. "
        f"{processes} fresh processes; load average at start {load} (1, 5, 15 min).",
        "",
        "| Operation | Public path | Fast path | Ratio fast/public | Decision |",
        "|---|---|---|---|---|",
    ]
    for row in fast:
        times, ratio = row["median_s"], row["ratios"]["fast/public"]
        decision = FAST_PATH_DECISIONS.get(row["comparison"], "kept" if ratio["median"] <= 0.9 else "remove")
        lines.append(
            f"| {row['title']} ({row['backend']}) | {times['public']['median'] * 1e6:.1f} µs "
            f"| {times['fast']['median'] * 1e6:.1f} µs "
            f"| **{ratio['median']:.2f}** [{ratio['min']:.2f}-{ratio['max']:.2f}] | {decision} |"
        )
    for operation, public, fast_us, ratio in REMOVED_FAST_PATHS:
        lines.append(f"| {operation} | {public} µs | {fast_us} µs | **{ratio}** "
                     f"| removed (measured before removal: {REMOVED_RUN}) |")
    return "\n".join(lines) + "\n"


def _runs(meta: dict[str, Any]) -> str:
    """Which run each group's rows come from, when a subset run kept earlier rows."""
    runs = meta.get("run_by_group", {})
    if len(set(runs.values())) <= 1:
        return ""
    listed = "\n".join(f"- {group}: {run}" for group, run in runs.items())
    return f"\nThe rows come from more than one run (the machine table describes the last):\n\n{listed}\n"


# Sections other runs write into the page (``nox -s load`` / ``soak``, tests/soak): from
# this heading on, a rewrite of the page keeps them.
KEPT_HEADING = "## HTTP load and soak (tests/soak)"


def kept_tail(old_page: str) -> str:
    """The part of ``old_page`` that other sessions own (empty when there is none)."""
    if KEPT_HEADING not in old_page:
        return ""
    return "\n" + KEPT_HEADING + old_page.split(KEPT_HEADING, 1)[1]


# Measured by hand (not by `nox -s bench`): kept here so the page keeps it when regenerated.
HIT_PROFILE = """## Profile of a cached hit in a gunicorn worker (both builds)

Issue 20, item 2: where a cached, authenticated hit spends its CPU in a real worker, and
what was cut. **restflow**: the load rig's build of the demo (`docs/example` with
`tests/soak/soak_settings.py`: `GET /api/books/`, `JWTAuthentication`, `IsAuthenticated`,
`@cache_response(public=True, set_cache_headers=True)`, cache and blacklist in Redis,
PostgreSQL with persistent connections and `CONN_HEALTH_CHECKS`). **simplejwt +
drf-extensions**: the rig's peer build (`tests/soak/peer_views.py`: simplejwt's
`JWTAuthentication`, drf-extensions' `@cache_response` keyed by per-model change stamps).
Both sign with the same HS256 key. Made by

```bash
python3 noxw.py -s load -- --help      # once: the environment (gunicorn, PostgreSQL driver)
RESTFLOW_SOAK_PG_URL=postgres://postgres@127.0.0.1:5432/restflow_hit \\
    .nox/load/bin/python tests/benchmarks/profile_hit.py --profile   # or no profiler
```

which runs each build under `gunicorn -w 1` (sync) on its own fresh database, sends 200
warm-up requests, then alternates blocks of 300 sequential hits between the builds and
reads the worker's CPU time from `/proc` per block. `--profile` adds cProfile on CPU time
between gunicorn's `pre_request` / `post_request` hooks (`profile_gunicorn.py`); its
overhead inflates many small calls (a whole hit costs ~5x more under it), so read the
proportions and the ratios, measured in the same run. 2026-12-05, 2 shared cores, load
average 13-20 (other jobs): absolute figures are inflated, paired ratios are what count.

**Before** (commit `d19b66a`) and **after** (`2f4124d`: the token memo), cProfile, CPU µs per request,
4 blocks of 300 hits per build:

| Part of the request | restflow before | peers (same run) | restflow after | peers (same run) |
|---|---:|---:|---:|---:|
| WSGI handler, whole request | 4,739 | 5,904 | 3,649 | 6,827 |
| — ratio restflow / peers | **0.80x** | | **0.53x** | |
| `request_started` / `request_finished` signals | 296 | 289 | 290 | 330 |
| DRF `dispatch` | 3,752 | 5,020 | 2,679 | 5,823 |
| DRF `initial()` | 2,864 | 3,482 | 1,799 | 3,995 |
| — `authenticate()` | 2,506 | 3,122 | 1,449 | 3,591 |
| —— token verification (PyJWT decode, claim checks) | 1,039 | 827 | 21 | 930 |
| —— user lookup (one SQL query, health check included) | 790 | 2,262 | 748 | 2,617 |
| — content negotiation (DRF) | 284 | 281 | 279 | 310 |
| — permission checks | 20 | 18 | 19 | 22 |
| cached view, hit (key, lookup, response) | 758 | 1,384 | 755 | 1,650 |
| DRF `finalize_response` | 21 | 21 | 21 | 23 |

Without a profiler (worker CPU per request, restflow / peers, median of the paired
blocks of one run, 8 blocks of 300 per build): `GET /api/books/` **0.75x and 0.78x
before, 0.63x and 0.69x after** (two runs each, alternated); the five cached reads of
the load mix in turn (`/api/books/`, two book details, `/api/authors/`,
`/api/me/reviews/`) 0.84x before, **0.72x** after. Plain CPU of a restflow hit here:
about 1,000 µs before, 820-920 µs after.

End to end (`nox -s load`, the read-heavy mix, 16 Locust users, gunicorn 4 sync workers,
2 rounds of 30-40 s per build alternated, same load average; **noisy**: single rounds
ranged 0.54x-1.74x before the change):

| run | throughput restflow / peers (rounds) | p99 restflow / peers | p50 |
|---|---|---|---|
| saturation, before (`d19b66a` codec) | 1.14x (0.54x, 1.74x) | 2.30x | 1.27x |
| saturation, after | **2.31x** (2.52x, 2.10x) | **0.27x** | 0.53x |
| saturation, after (an earlier run) | 1.92x (1.92x, 1.93x) | 0.09x | 0.60x |
| fixed 48 tasks/s (`--users 16 --rate 3`), before | 1.05x (1.01x, 1.09x) | 0.17x (0.23x, 0.11x) | 2.02x |
| fixed 48 tasks/s, after | 1.07x (1.10x, 1.04x) | **0.14x** (0.09x, 0.19x) | **0.89x** |

At the fixed rate both builds keep up (throughput is the offered load); in these runs
the peers' slowest requests were book-list reads (a price write drops every list entry
of theirs: one stamp per model) and logins.

What was cut, and what was measured and kept:

- **Cut: the signature check of a token already seen.** PyJWT's `decode` was a fifth
  of restflow's profiled hit, about 115 µs of plain CPU per call here (a ninth of the
  hit; most of it PyJWT 2.15's character-by-character base64url validation).
  restflow-jwt now remembers a verified access token per process until it expires
  (`LEEWAY` included) or its key stops verifying (4,096 tokens at most; dropped with
  the settings; not used with `JWKS_URL`): the next request with the same token skips
  header parsing and PyJWT.
  The blacklist read and the user query still run on every request, so revocation,
  a deleted or deactivated user and a changed password are seen as before
  (docs/jwt.md, `JWTAuthentication`).
- Kept: DRF's content negotiation (~16 µs of plain CPU) runs before the cached method
  and decides the variant the key names (JSON or another renderer); `initialize_request`
  (~11 µs) and `finalize_response` (~3 µs) are DRF's and the same on both builds.
- Kept: rebuilding the response (`HttpResponse` from the stored bytes, status and headers,
  plus the `X-Cache-*` headers) is about a twentieth of the profiled hit; assembling it
  without Django's header checks was measured before and bought under 10% of the hit
  (see "What each fast path buys"); a hit stays byte for byte the miss that stored it
  (`test_a_hit_is_its_miss_byte_for_byte`, JSON and HTML; the browsable API page embeds
  a CSRF token and is never stored).
- Kept, and the same on both builds: the user query (one SQL statement; the health
  check `SELECT 1` that `CONN_HEALTH_CHECKS` adds rides in the first cursor of the
  request) and the blacklist `MGET`, sent before the user query and read after it.
- The demo's middleware (security, common, CSRF for its `/browser/` page) and
  `request_started` / `request_finished` cost the same on both builds: unchanged.
"""


def page(rows: list[dict[str, Any]], meta: dict[str, Any], table: str, images: list[str],
         folder: Path) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v != "not installed")
    saves = next((r["params"].get("saves") for r in rows if r["comparison"].startswith("brokers.")), "no")
    load = f"{meta.get('load_average_start', '?')} / {meta['load_average']}"
    processes = ", ".join(f"{g} {n}" for g, n in meta.get("processes", {}).items())
    charts = "\n\n".join(f"![{name}]({folder.as_posix()}/{name})" for name in images)
    return f"""# Benchmarks

restflow measured against what a DRF team would otherwise pick (djangorestframework-simplejwt,
drf-extensions, raw Django cache calls, plain `save()`), in the same process and the same
run. Every figure below is a **ratio** of two contenders measured side by side; absolute
times depend on the machine and are given only to explain the ratios.

Generated by `nox -s bench` on {meta['date_utc']} (commit `{meta['git_commit']}`), in
{meta['duration_s'] / 60:.1f} minutes. Raw data: [results.json]({folder.as_posix()}/results.json),
full table: [results.md]({folder.as_posix()}/results.md).
{_runs(meta)}
## How to reproduce

```bash
python3 noxw.py -s bench
# PostgreSQL for the user table and models instead of SQLite:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/restflow_bench python3 noxw.py -s bench
# a subset, more fresh processes:
python3 noxw.py -s bench -- --groups jwt,cache --processes 5
```

The session installs the restflow distributions from `packages/*` (editable, so a
`-R` rerun measures the current code), the
contenders (djangorestframework-simplejwt, drf-extensions), the broker libraries and
matplotlib into its own environment, starts a private `redis-server` on a free port, and
rewrites this page, `docs/benchmarks/results.md`, `results.json` and the PNG charts.
The code is in `tests/benchmarks/` (not collected by pytest).

## Method

- Each comparison runs its contenders **alternately in rounds inside one process**
  (A B A B …). A block repeats one operation enough times to last ≥ 40-50 ms, so timer
  noise is negligible; each round yields a time per operation per contender.
- Reported per contender: the **median** over rounds. Reported per pair: the median of
  the **per-round paired ratios** (A's time over B's in the same round), so a slow phase
  of the machine hits both sides of a ratio.
- The whole comparison is repeated in **several fresh processes** (this run: {processes});
  the table gives the median of the processes' ratios and their [min-max]. The start-up
  row uses one fresh interpreter per measurement instead.
- Next to each time the suite counts, per operation, **SQL queries**, **Django cache API
  calls** and **Redis round trips** (socket writes), so that a ratio can be explained.
- Backends: local memory, and a private Redis server through Django's `RedisCache` and
  django-redis; SQLite (file) for the database, PostgreSQL when `DATABASE_URL` is set.
- Brokers: one real worker per broker (Celery solo pool, RQ SimpleWorker, Dramatiq one
  process/thread, a one-worker django-q cluster), started by the suite with its own
  settings (`tests/benchmarks/bench_broker_settings.py`). Saves and no-op jobs alternate;
  this run made {saves} saves per broker (default 500; `RESTFLOW_BENCH_BROKER_SAVES=200`
  shortens the run on a small, busy machine).
- A row is **met** when every target ratio/value and every behavioural fact holds, else
  **missed**. Rows are never dropped for missing.

## Machine

| | |
|---|---|
| CPU | {meta['cpu_model']} |
| `nproc` | {meta['nproc']} |
| Load average (1, 5, 15 min) at start / end | {load} |
| Platform | {meta['platform']} |
| Python | {meta['python']} |
| Database | {meta['database']} |
| Redis | {meta['redis_server']} |
| Versions | {versions} |

Other jobs may share the machine: a load average above the CPU count means the
contenders waited for a CPU, which inflates absolute times (and their spread) for both
sides of a ratio alike; the paired ratios are what to read.

`free -h`:

```text
{meta['free_h']}
```

## Summary

{_summary(rows)}
## What each fast path buys

{_fast_paths(rows, meta)}
## Why rows are missed

{_missed(rows)}
{HIT_PROFILE}
## Charts

{charts}

## Full table

{table}"""
