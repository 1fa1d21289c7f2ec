"""gunicorn config that profiles a worker's requests with cProfile (CPU time).

How the "Profile of a cached hit" section of docs/benchmarks.md was made::

    PROFILE_OUT=/tmp/hit.prof gunicorn catalogue_project.wsgi -w 1 \\
        -c tests/benchmarks/profile_gunicorn.py      # demo settings, Redis cache
    # ... send 2,200 authenticated GET /api/books/, stop gunicorn (SIGTERM), then:
    python -m pstats /tmp/hit.prof

The simplejwt + drf-extensions column: the same settings with ``ROOT_URLCONF`` pointing
at one ``APIView`` for ``api/books/`` whose ``authentication_classes`` is simplejwt's
``JWTAuthentication`` and whose ``get`` (the demo's ``BookList.get`` body) is decorated
with drf-extensions' ``@cache_response(timeout=600)``, ``rest_framework_simplejwt`` in
``INSTALLED_APPS`` and ``SIMPLE_JWT["SIGNING_KEY"]`` set.

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
