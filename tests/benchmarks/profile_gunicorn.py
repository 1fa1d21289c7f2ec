"""gunicorn config that profiles a worker's requests with cProfile (CPU time).

``tests/benchmarks/profile_hit.py --profile`` runs both builds of the load rig under
it (the "Profile of a cached hit" section of docs/benchmarks.md); by hand::

    PROFILE_OUT=/tmp/hit.prof gunicorn catalogue_project.wsgi -w 1 \\
        -c tests/benchmarks/profile_gunicorn.py
    # ... send authenticated GET /api/books/, stop gunicorn (SIGTERM), then:
    python -m pstats /tmp/hit.prof

Requests after the first ``PROFILE_SKIP`` (default 200: the miss, warm-up) are profiled,
between gunicorn's ``pre_request`` and ``post_request`` hooks; the stats are written
when the worker exits.
"""

from __future__ import annotations

import cProfile
import os
import time
from typing import Any

_SKIP = int(os.environ.get("PROFILE_SKIP", "200"))
_state: dict[str, Any] = {"seen": 0, "profile": cProfile.Profile(time.process_time)}


def pre_request(worker: Any, req: Any) -> None:
    _state["seen"] += 1
    if _state["seen"] > _SKIP:
        _state["profile"].enable()


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    if _state["seen"] > _SKIP:
        _state["profile"].disable()


def worker_exit(server: Any, worker: Any) -> None:
    _state["profile"].dump_stats(os.environ["PROFILE_OUT"])
