"""The rig's section of docs/benchmarks.md (``nox -s bench`` keeps it when it rewrites
the page: see ``KEPT_HEADING`` in tests/benchmarks/bench_docs.py)."""

from __future__ import annotations

HEADING = "## HTTP load and soak (tests/soak)"


def put_section(page: str, name: str, body: str) -> str:
    """``page`` with the block between ``<!-- rig:NAME -->`` markers replaced (or appended)."""
    begin, end = f"<!-- rig:{name} -->", f"<!-- /rig:{name} -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in page and end in page:
        head, rest = page.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    if HEADING not in page:
        page = page.rstrip("\n") + f"\n\n{HEADING}\n\n{INTRO}\n"
    return page.rstrip("\n") + f"\n\n{block}\n"


INTRO = """\
The demo API (docs/example) served as in production: gunicorn with 4 sync workers,
PostgreSQL, one Redis, and (for `soak`) a Celery worker running restflow's invalidation
jobs. [Locust](https://locust.io) in headless mode is the load generator. The same API
is also built on djangorestframework-simplejwt + drf-extensions' `cache_response`
(`tests/soak/peer_views.py`: per-model "changed" stamps bumped by signals after commit,
the invalidation drf-extensions documents) and run against the same server, data and
load in the same run.

```bash
python3 noxw.py -s load                         # 2 rounds (A B, B A), 60 s per build, 16 users
python3 noxw.py -s load -- --seconds 90 --users 24 --mix write
python3 noxw.py -s load -- --users 16 --rate 3      # a fixed offered load: 48 tasks/s
python3 noxw.py -s load -- --server uvicorn    # ASGI, 2 workers; the async view joins the mix
python3 noxw.py -s soak -- --fault redis-restart  # or redis-stop, broker-stop, worker-kill,
                                                  # web-kill, pg-drop, none
python3 noxw.py -s soak-smoke                     # the CI smoke run
python3 noxw.py -s soak -- --broker rq --fault worker-kill  # or dramatiq, django_q
RESTFLOW_SOAK_PG_URL=postgres://postgres@127.0.0.1:5432/restflow_soak python3 noxw.py -s soak
```

Checks (`tests/soak/soak_checks.py`, tested in `tests/soak_checks`): a **stale read**
returned a book version older than the newest one committed more than the lag bound
before the read started; a **double spend** is a refresh token accepted more than once
(3 concurrent uses, or a replay of a spent one); a **lost invalidation** is a book whose
detail or list entry, after the run quiesced, differs from the database; every **5xx**
is counted by status and detail, and each traceback in the server log by its exception.
The database named in `RESTFLOW_SOAK_PG_URL` is dropped and re-created for each build.
Everything listens on 127.0.0.1 and every process is stopped by pid when the run ends."""
